export async function driftSection(_o: { quick: boolean }): Promise<void> {}
