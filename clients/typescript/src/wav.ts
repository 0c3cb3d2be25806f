/** Facts read from a RIFF/WAVE header. */
export interface WavInfo {
  /** WAVE format tag: 1 = PCM, 3 = IEEE float, 0xFFFE = extensible, 6 = A-law, 7 = mu-law. */
  formatTag: number;
  channels: number;
  sampleRateHz: number;
  bitsPerSample: number;
  /** Bytes per frame (all channels). */
  blockAlign: number;
  /** Byte offset of the sample data in the file. */
  dataOffset: number;
  /** Byte length of the sample data. */
  dataBytes: number;
  /** Frames (samples per channel). */
  numSamples: number;
  durationSeconds: number;
}

/**
 * Reads the header of a WAV file (RIFF or RF64-less WAVE as voxgate writes it). Throws on anything
 * that is not a WAV file with `fmt ` and `data` chunks.
 */
export function readWavInfo(buf: Uint8Array): WavInfo {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 12 || b.toString("ascii", 0, 4) !== "RIFF" || b.toString("ascii", 8, 12) !== "WAVE") {
    throw new Error("not a RIFF/WAVE file");
  }
  let pos = 12;
  let fmt: Omit<WavInfo, "dataOffset" | "dataBytes" | "numSamples" | "durationSeconds"> | undefined;
  while (pos + 8 <= b.length) {
    const id = b.toString("ascii", pos, pos + 4);
    const size = b.readUInt32LE(pos + 4);
    const body = pos + 8;
    if (id === "fmt ") {
      if (size < 16 || body + 16 > b.length) throw new Error("short fmt chunk");
      fmt = {
        formatTag: b.readUInt16LE(body),
        channels: b.readUInt16LE(body + 2),
        sampleRateHz: b.readUInt32LE(body + 4),
        blockAlign: b.readUInt16LE(body + 12),
        bitsPerSample: b.readUInt16LE(body + 14),
      };
    } else if (id === "data") {
      if (!fmt) throw new Error("data chunk before fmt chunk");
      // A streaming writer may leave the size unset (0 or 0xFFFFFFFF): use what is there.
      const avail = b.length - body;
      const dataBytes = size === 0 || size === 0xffffffff || size > avail ? avail : size;
      const numSamples = fmt.blockAlign > 0 ? Math.floor(dataBytes / fmt.blockAlign) : 0;
      return {
        ...fmt,
        dataOffset: body,
        dataBytes,
        numSamples,
        durationSeconds: fmt.sampleRateHz > 0 ? numSamples / fmt.sampleRateHz : 0,
      };
    }
    pos = body + size + (size % 2); // chunks are padded to even sizes
  }
  throw new Error("no data chunk");
}
