// Test data shared by the chat tests.

/** A mono 16-bit WAV file of n silent samples at `rate`. */
export function silentWav(n: number, rate: number): Buffer {
  const b = Buffer.alloc(44 + 2 * n);
  b.write("RIFF", 0, "ascii");
  b.writeUInt32LE(36 + 2 * n, 4);
  b.write("WAVEfmt ", 8, "ascii");
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(2 * rate, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write("data", 36, "ascii");
  b.writeUInt32LE(2 * n, 40);
  return b;
}
