/**
 * Records the microphone as 16 kHz mono 16-bit WAV: what Dify's speech to text takes (it refuses the
 * WebM that MediaRecorder makes). Web Audio gives raw samples at the device's rate; they are
 * resampled to 16 kHz, which is plenty for speech and keeps a minute under 2 MB.
 */
const RATE = 16_000;

export const canRecord = typeof navigator !== 'undefined' && !!navigator.mediaDevices?.getUserMedia && typeof AudioContext !== 'undefined';

export interface Recording {
  /** Stops and returns the WAV. */
  stop(): Blob;
  /** Stops and drops what was recorded. */
  cancel(): void;
}

/** Starts recording (asks for the microphone); `onLimit` fires once `maxSeconds` are recorded. */
export async function startRecording(maxSeconds: number, onLimit: () => void): Promise<Recording> {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true } });
  const context = new AudioContext();
  const source = context.createMediaStreamSource(stream);
  // ScriptProcessor is deprecated but everywhere, and needs no worklet module (the page's CSP stays 'self' scripts only).
  const node = context.createScriptProcessor(4096, 1, 1);
  const chunks: Float32Array[] = [];
  let samples = 0;
  let limited = false;
  node.onaudioprocess = (e) => {
    const data = e.inputBuffer.getChannelData(0);
    chunks.push(new Float32Array(data));
    samples += data.length;
    if (!limited && samples >= maxSeconds * context.sampleRate) {
      limited = true;
      onLimit();
    }
  };
  source.connect(node);
  node.connect(context.destination);
  const release = () => {
    node.onaudioprocess = null;
    node.disconnect();
    source.disconnect();
    for (const track of stream.getTracks()) track.stop();
    void context.close();
  };
  return {
    stop() {
      release();
      return wav(resample(chunks, samples, context.sampleRate));
    },
    cancel: release,
  };
}

/** Linear resampling of the recorded chunks to RATE. */
function resample(chunks: Float32Array[], length: number, rate: number): Float32Array {
  const all = new Float32Array(length);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  if (rate === RATE) return all;
  const out = new Float32Array(Math.floor((length * RATE) / rate));
  const step = rate / RATE;
  for (let i = 0; i < out.length; i++) {
    const x = i * step;
    const j = Math.floor(x);
    const next = all[Math.min(j + 1, length - 1)] ?? 0;
    const here = all[j] ?? 0;
    out[i] = here + (next - here) * (x - j);
  }
  return out;
}

function wav(samples: Float32Array): Blob {
  const bytes = new DataView(new ArrayBuffer(44 + samples.length * 2));
  const text = (at: number, s: string) => {
    for (let i = 0; i < s.length; i++) bytes.setUint8(at + i, s.charCodeAt(i));
  };
  text(0, 'RIFF');
  bytes.setUint32(4, 36 + samples.length * 2, true);
  text(8, 'WAVEfmt ');
  bytes.setUint32(16, 16, true);
  bytes.setUint16(20, 1, true);
  bytes.setUint16(22, 1, true);
  bytes.setUint32(24, RATE, true);
  bytes.setUint32(28, RATE * 2, true);
  bytes.setUint16(32, 2, true);
  bytes.setUint16(34, 16, true);
  text(36, 'data');
  bytes.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]!));
    bytes.setInt16(44 + i * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true);
  }
  return new Blob([bytes.buffer], { type: 'audio/wav' });
}
