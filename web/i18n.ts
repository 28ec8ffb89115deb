/** UI strings, Chinese and English. */
export type Lang = 'zh' | 'en';

const en = {
  newChat: 'New chat',
  placeholder: 'Message {name}…',
  send: 'Send message',
  stop: 'Stop answering',
  voiceStart: 'Voice input',
  voiceStop: 'Stop voice input',
  copy: 'Copy',
  copied: 'Copied',
  copyCode: 'Copy code',
  regenerate: 'Regenerate',
  readAloud: 'Read aloud',
  stopReading: 'Stop reading',
  thinking: 'Thinking…',
  thoughts: 'Thought process',
  usedTool: 'Used {tool}',
  usingTool: 'Using {tool}…',
  toolInput: 'Input',
  toolOutput: 'Result',
  stopped: 'Stopped',
  errorGeneric: 'Something went wrong. Please try again.',
  errorNetwork: 'The connection was interrupted. Please try again.',
  retry: 'Try again',
  hint: 'Enter to send · Shift + Enter for a new line',
  online: 'Online',
  typing: 'Typing…',
  you: 'You',
  chooseApp: 'Choose an app',
  scrollDown: 'Jump to latest',
  suggestions: 'Suggested questions',
  messages: 'Conversation',
  problemNoApp: 'No chat app is configured for this page yet.',
  problemUnreachable: 'The assistant is not reachable right now. Please try again later.',
  image: 'Image',
  file: 'Attachment',
  reset: 'The previous conversation had expired, so a new one was started.',
  today: 'Today',
};

export type Strings = typeof en;

const zh: Strings = {
  newChat: '新对话',
  placeholder: '给 {name} 发消息…',
  send: '发送',
  stop: '停止回答',
  voiceStart: '语音输入',
  voiceStop: '停止语音输入',
  copy: '复制',
  copied: '已复制',
  copyCode: '复制代码',
  regenerate: '重新生成',
  readAloud: '朗读',
  stopReading: '停止朗读',
  thinking: '思考中…',
  thoughts: '思考过程',
  usedTool: '已使用 {tool}',
  usingTool: '正在使用 {tool}…',
  toolInput: '输入',
  toolOutput: '结果',
  stopped: '已停止',
  errorGeneric: '出了点问题，请重试。',
  errorNetwork: '连接中断了，请重试。',
  retry: '重试',
  hint: 'Enter 发送 · Shift + Enter 换行',
  online: '在线',
  typing: '正在输入…',
  you: '我',
  chooseApp: '选择应用',
  scrollDown: '回到最新',
  suggestions: '推荐问题',
  messages: '对话',
  problemNoApp: '此页面尚未配置聊天应用。',
  problemUnreachable: '助手暂时无法连接，请稍后再试。',
  image: '图片',
  file: '附件',
  reset: '之前的对话已过期，已为你开始新的对话。',
  today: '今天',
};

export function strings(lang: Lang): Strings {
  return lang === 'zh' ? zh : en;
}

export function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, k: string) => values[k] ?? '');
}
