/**
 * Read aloud (the app's own voice from the server, else the browser's speechSynthesis) and voice input
 * (SpeechRecognition), where the browser offers them. One thing reads at a time.
 */

interface RecognitionResultEvent {
  resultIndex: number;
  results: ArrayLike<ArrayLike<{ transcript: string }> & { isFinal: boolean }>;
}
interface Recognition {
  lang: string;
  continuous: boolean;
  interimResults: boolean;
  onresult: ((e: RecognitionResultEvent) => void) | null;
  onend: (() => void) | null;
  onerror: (() => void) | null;
  start(): void;
  stop(): void;
}
type RecognitionCtor = new () => Recognition;

function recognitionCtor(): RecognitionCtor | undefined {
  const w = window as unknown as { SpeechRecognition?: RecognitionCtor; webkitSpeechRecognition?: RecognitionCtor };
  return w.SpeechRecognition ?? w.webkitSpeechRecognition;
}

export const canSpeak = typeof window !== 'undefined' && 'speechSynthesis' in window && typeof SpeechSynthesisUtterance !== 'undefined';
export const canListen = typeof window !== 'undefined' && !!recognitionCtor();

export function speechLang(text: string, uiLang: 'zh' | 'en'): string {
  if (/[\uac00-\ud7af]/.test(text)) return 'ko-KR';
  if (/[\u3040-\u30ff]/.test(text)) return 'ja-JP';
  if (/[\u4e00-\u9fff]/.test(text)) return 'zh-CN';
  return uiLang === 'zh' ? 'zh-CN' : 'en-US';
}

let speakingId: string | undefined;

export function speak(id: string, text: string, lang: string, onEnd: () => void): void {
  stopSpeaking();
  const u = new SpeechSynthesisUtterance(text);
  u.lang = lang;
  u.onend = u.onerror = () => {
    if (speakingId === id) speakingId = undefined;
    onEnd();
  };
  speakingId = id;
  speechSynthesis.speak(u);
}

let audio: HTMLAudioElement | undefined;

/** Plays audio the server made; `onEnd` once it ends, fails or is stopped while loading. */
export function playAudio(id: string, source: Promise<Blob>, onEnd: () => void): void {
  stopSpeaking();
  speakingId = id;
  const done = () => {
    if (speakingId === id) speakingId = undefined;
    onEnd();
  };
  source.then((blob) => {
    if (speakingId !== id) return done();
    const url = URL.createObjectURL(blob);
    const el = new Audio(url);
    audio = el;
    const finish = () => {
      URL.revokeObjectURL(url);
      if (audio === el) audio = undefined;
      done();
    };
    el.onended = finish;
    el.onerror = finish;
    el.play().catch(finish);
  }, done);
}

export function stopSpeaking(): void {
  if (canSpeak) speechSynthesis.cancel();
  const playing = audio;
  audio = undefined;
  playing?.pause();
  speakingId = undefined;
}

export function isSpeaking(id: string): boolean {
  return speakingId === id;
}

/** Starts listening; calls onText with the running transcript; returns a stop function. */
export function listen(lang: string, onText: (text: string, final: boolean) => void, onEnd: () => void): () => void {
  const Ctor = recognitionCtor();
  if (!Ctor) {
    onEnd();
    return () => undefined;
  }
  const r = new Ctor();
  r.lang = lang;
  r.continuous = false;
  r.interimResults = true;
  r.onresult = (e) => {
    let text = '';
    let final = false;
    for (let i = 0; i < e.results.length; i++) {
      const res = e.results[i]!;
      text += res[0]?.transcript ?? '';
      if (res.isFinal) final = true;
    }
    onText(text, final);
  };
  r.onend = onEnd;
  r.onerror = onEnd;
  try {
    r.start();
  } catch {
    onEnd();
  }
  return () => r.stop();
}
