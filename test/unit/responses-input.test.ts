// The one Responses-input converter both groups use: what a client's input items become.
import { describe, expect, it } from 'vitest';
import { OpenAIError } from '../../src/openai/errors.js';
import { responsesInputToMessages } from '../../src/openai/responses.js';

function refusal(fn: () => unknown): { status: number; param: string | null } {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(OpenAIError);
    const e = error as OpenAIError;
    return { status: e.status, param: e.param };
  }
  throw new Error('expected a refusal');
}

describe('responsesInputToMessages', () => {
  it('turns a string input and instructions into a system and a user message', () => {
    expect(responsesInputToMessages('hi', 'Be brief.')).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'hi' },
    ]);
  });

  it('keeps a Codex-style turn: developer message, text and image parts with their detail, and drops reasoning items', () => {
    const messages = responsesInputToMessages([
      { type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'rules' }] },
      { role: 'user', content: [{ type: 'input_text', text: 'look' }, { type: 'input_image', image_url: 'https://example.com/a.png', detail: 'low' }] },
      { type: 'reasoning', summary: [] },
      { role: 'assistant', content: [{ type: 'output_text', text: 'a cat' }, { type: 'refusal', refusal: '' }] },
    ]);
    expect(messages).toEqual([
      { role: 'developer', content: [{ type: 'text', text: 'rules' }] },
      { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'low' } }] },
      { role: 'assistant', content: [{ type: 'text', text: 'a cat' }, { type: 'refusal', refusal: '' }] },
    ]);
  });

  it('groups parallel function calls into one assistant turn and keeps each output with its call id', () => {
    const messages = responsesInputToMessages([
      { role: 'user', content: 'weather in Paris and Rome?' },
      { type: 'function_call', call_id: 'c1', name: 'weather', arguments: '{"city":"Paris"}' },
      { type: 'function_call', call_id: 'c2', name: 'weather', arguments: '{"city":"Rome"}' },
      { type: 'function_call_output', call_id: 'c1', output: 'sunny' },
      { type: 'function_call_output', call_id: 'c2', output: [{ type: 'input_text', text: 'rain' }] },
      { type: 'function_call_output', call_id: 'c3', output: { temp: 3 } },
    ]);
    expect(messages.slice(1)).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
          { id: 'c2', type: 'function', function: { name: 'weather', arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
      { role: 'tool', tool_call_id: 'c2', content: [{ type: 'text', text: 'rain' }] },
      { role: 'tool', tool_call_id: 'c3', content: '{"temp":3}' },
    ]);
  });

  it('refuses what it cannot carry with a 400 naming the item', () => {
    expect(refusal(() => responsesInputToMessages([{ role: 'user', content: 'ok' }, 'text']))).toEqual({ status: 400, param: 'input[1]' });
    expect(refusal(() => responsesInputToMessages([{ role: 'critic', content: 'x' }]))).toEqual({ status: 400, param: 'input[0].role' });
    expect(refusal(() => responsesInputToMessages([{ role: 'user', content: [{ type: 'input_image', file_id: 'file-1' }] }]))).toEqual({ status: 400, param: 'input[0].content[0].image_url' });
    expect(refusal(() => responsesInputToMessages([{ role: 'user', content: [{ type: 'input_file', file_id: 'file-1' }] }]))).toEqual({ status: 400, param: 'input[0].content[0].type' });
    expect(refusal(() => responsesInputToMessages([{ role: 'user', content: [{ type: 'audio' }] }]))).toEqual({ status: 400, param: 'input[0].content[0].type' });
  });
});
