// voxgate demo: microphone capture. Runs on the audio thread; converts the first input
// channel to PCM16 (little-endian, the context's native rate) and posts one piece per
// `chunkSamples` frames (100 ms by default) with its RMS level, for the page to send.
class VoxgateCapture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const opts = (options && options.processorOptions) || {};
    this.chunk = Math.max(128, opts.chunkSamples || Math.round(sampleRate / 10));
    this.pcm = new Int16Array(this.chunk);
    this.fill = 0;
    this.energy = 0;
  }

  process(inputs, outputs) {
    const input = inputs[0];
    const channel = input && input[0];
    if (channel) {
      for (let i = 0; i < channel.length; i++) {
        const s = Math.max(-1, Math.min(1, channel[i]));
        this.energy += s * s;
        this.pcm[this.fill++] = s < 0 ? s * 32768 : s * 32767;
        if (this.fill === this.chunk) {
          const rms = Math.sqrt(this.energy / this.chunk);
          this.port.postMessage({ pcm: this.pcm.buffer, rms }, [this.pcm.buffer]);
          this.pcm = new Int16Array(this.chunk);
          this.fill = 0;
          this.energy = 0;
        }
      }
    }
    const out = outputs[0] && outputs[0][0];
    if (out) out.fill(0); // silent: the node is only pulled so that it keeps running
    return true;
  }
}

registerProcessor("voxgate-capture", VoxgateCapture);
