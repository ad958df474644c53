// The official openai npm client against a running edge: node openai-client.mjs <baseUrl>
// Checks the parsed objects the SDK hands to applications, streaming included, and the error classes
// the SDK raises. Prints one JSON summary line last on stdout; exits 1 when any check fails.
import OpenAI from 'openai';
import { VERSION } from 'openai/version';

const baseUrl = (process.argv[2] || '').replace(/\/+$/, '');
if (!/^https?:\/\//.test(baseUrl)) {
  console.error('usage: node openai-client.mjs <baseUrl>   (e.g. http://localhost:8080)');
  process.exit(2);
}

const PROMPT = 'Once upon a time';
const client = new OpenAI({ baseURL: baseUrl + '/v1', apiKey: 'unused', maxRetries: 0, timeout: 30_000 });

const summary = { ok: false, baseUrl, sdk: VERSION, model: null, prompt: PROMPT, checks: {}, failures: [] };

class CheckError extends Error {}
function check(condition, message) {
  if (!condition) throw new CheckError(message);
}
const show = (v) => JSON.stringify(v);

async function step(name, fn) {
  const t0 = Date.now();
  try {
    const detail = await fn();
    summary.checks[name] = { ok: true, ms: Date.now() - t0, ...(detail || {}) };
  } catch (e) {
    const message = e instanceof CheckError ? e.message : `${e.constructor?.name ?? 'Error'}: ${e.message}`;
    summary.checks[name] = { ok: false, ms: Date.now() - t0, error: message };
    summary.failures.push(`${name}: ${message}`);
    console.error(`FAIL ${name}: ${message}`);
  }
}

const user = (content) => [{ role: 'user', content }];
let greedy = null; // (a)'s parsed completion

// (g) first: the served id is the model every other request names.
await step('g_models_list', async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  check(ids.length > 0, 'models.list returned no model');
  summary.model = ids[0];
  return { ids };
});
const model = summary.model ?? 'stories260K';

await step('a_chat_non_streaming', async () => {
  const { data: c, response } = await client.chat.completions
    .create({ model, messages: user(PROMPT), temperature: 0, max_tokens: 20 })
    .withResponse();
  check(c.object === 'chat.completion', `object is ${show(c.object)}, expected "chat.completion"`);
  check(typeof c.id === 'string' && c.id.length > 0, `id is ${show(c.id)}`);
  check(c.model === model, `model is ${show(c.model)}, expected ${show(model)}`);
  check(Array.isArray(c.choices) && c.choices.length === 1, `expected one choice, got ${show(c.choices)}`);
  const choice = c.choices[0];
  check(choice.message?.role === 'assistant', `message.role is ${show(choice.message?.role)}`);
  check(typeof choice.message?.content === 'string' && choice.message.content.length > 0,
    `message.content is not a non-empty string: ${show(choice.message?.content)}`);
  check(choice.finish_reason === 'length', `finish_reason is ${show(choice.finish_reason)}, expected "length" (max_tokens 20)`);
  const u = c.usage;
  check(u && Number.isInteger(u.prompt_tokens) && u.prompt_tokens > 0, `usage.prompt_tokens is ${show(u?.prompt_tokens)}`);
  check(u.completion_tokens === 20, `usage.completion_tokens is ${show(u.completion_tokens)}, expected 20`);
  check(u.total_tokens === u.prompt_tokens + u.completion_tokens,
    `usage.total_tokens ${u.total_tokens} != prompt ${u.prompt_tokens} + completion ${u.completion_tokens}`);
  const route = response.headers.get('x-tandem-route');
  check(route === 'local', `X-Tandem-Route header is ${show(route)}, expected "local"`);
  check(c.tandem?.route === 'local', `tandem.route is ${show(c.tandem?.route)}`);
  greedy = c;
  summary.greedyContent = choice.message.content;
  return { content: choice.message.content, usage: u };
});

await step('b_chat_streaming', async () => {
  check(greedy, 'needs (a)');
  const { data: stream, response } = await client.chat.completions
    .create({ model, messages: user(PROMPT), temperature: 0, max_tokens: 20, stream: true, stream_options: { include_usage: true } })
    .withResponse();
  check((response.headers.get('content-type') || '').startsWith('text/event-stream'),
    `content-type is ${show(response.headers.get('content-type'))}`);
  let content = '';
  let role = null;
  let lastChoiceChunk = null;
  let usage = null;
  let usageChunks = 0;
  let chunksAfterUsage = 0;
  let tandem = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    check(chunk.object === 'chat.completion.chunk', `chunk.object is ${show(chunk.object)}`);
    if (usage) chunksAfterUsage++;
    if (chunk.choices.length > 0) {
      const choice = chunk.choices[0];
      if (choice.delta?.role) role = choice.delta.role;
      if (typeof choice.delta?.content === 'string') content += choice.delta.content;
      lastChoiceChunk = chunk;
    }
    if (chunk.tandem) tandem = chunk.tandem;
    if (chunk.usage) {
      usage = chunk.usage;
      usageChunks++;
      check(chunk.choices.length === 0, `the usage chunk has choices: ${show(chunk.choices)}`);
    }
  }
  check(role === 'assistant', `no delta with role "assistant" (got ${show(role)})`);
  check(content === greedy.choices[0].message.content,
    `streamed content ${show(content)} differs from the non-streaming ${show(greedy.choices[0].message.content)}`);
  check(lastChoiceChunk && lastChoiceChunk.choices[0].finish_reason === 'length',
    `the last choice chunk's finish_reason is ${show(lastChoiceChunk?.choices[0].finish_reason)}, expected "length"`);
  check(usageChunks === 1 && chunksAfterUsage === 0, `expected one usage chunk, last; got ${usageChunks} with ${chunksAfterUsage} after it`);
  check(usage.completion_tokens === 20 && usage.prompt_tokens === greedy.usage.prompt_tokens
    && usage.total_tokens === usage.prompt_tokens + usage.completion_tokens, `usage chunk is ${show(usage)}`);
  check(tandem?.route === 'local', `tandem.route on the final chunk is ${show(tandem?.route)}`);
  check(typeof tandem.ttft_ms === 'number' && tandem.ttft_ms >= 0, `tandem.ttft_ms is ${show(tandem.ttft_ms)}`);
  return { chunks, usage, ttft_ms: tandem.ttft_ms };
});

await step('c_stop', async () => {
  check(greedy, 'needs (a)');
  const full = greedy.choices[0].message.content;
  // A word of (a)'s content past its start, so the expected answer is a non-trivial prefix.
  const words = [...full.matchAll(/[A-Za-z]{3,}/g)].filter((m) => m.index > 0);
  check(words.length > 0, `no word to stop at in ${show(full)}`);
  const word = words[Math.min(2, words.length - 1)][0];
  const expected = full.slice(0, full.indexOf(word));
  const c = await client.chat.completions.create({ model, messages: user(PROMPT), temperature: 0, max_tokens: 20, stop: [word] });
  const choice = c.choices[0];
  check(choice.message.content === expected,
    `with stop ${show(word)} the content is ${show(choice.message.content)}, expected the prefix ${show(expected)}`);
  check(choice.finish_reason === 'stop', `with stop ${show(word)} finish_reason is ${show(choice.finish_reason)}, expected "stop"`);
  return { stop: word, content: choice.message.content };
});

await step('d_max_tokens_1', async () => {
  const c = await client.chat.completions.create({ model, messages: user(PROMPT), temperature: 0, max_tokens: 1 });
  check(c.choices[0].finish_reason === 'length', `finish_reason is ${show(c.choices[0].finish_reason)}, expected "length"`);
  check(c.usage.completion_tokens === 1, `usage.completion_tokens is ${show(c.usage.completion_tokens)}, expected 1`);
  check(c.usage.total_tokens === c.usage.prompt_tokens + 1, `usage is ${show(c.usage)}`);
  return { content: c.choices[0].message.content };
});

async function expectError(what, ErrorClass, status, request) {
  let caught = null;
  try {
    await request();
  } catch (e) {
    caught = e;
  }
  check(caught !== null, `${what}: no error was raised`);
  check(caught instanceof ErrorClass,
    `${what}: raised ${caught.constructor?.name} (${caught.message}), expected ${ErrorClass.name}`);
  check(caught.status === status, `${what}: status ${caught.status}, expected ${status}`);
  check(caught instanceof OpenAI.APIError, `${what}: not an OpenAI.APIError`);
  return { status: caught.status, message: caught.message };
}

let errors = null;
await step('e_errors', async () => {
  const unknown = await expectError('model "nope"', OpenAI.NotFoundError, 404,
    () => client.chat.completions.create({ model: 'nope', messages: user(PROMPT), max_tokens: 5 }));
  const zero = await expectError('max_tokens 0', OpenAI.BadRequestError, 400,
    () => client.chat.completions.create({ model, messages: user(PROMPT), max_tokens: 0 }));
  errors = { unknown, zero };
  return { unknownModel: unknown, maxTokensZero: zero };
});

// The SDK builds its message from the body's OpenAI-style "error" member ({message, type, param,
// code}); a bare problem+json body reaches applications as "404 status code (no body)".
await step('e_error_detail_reaches_sdk', async () => {
  check(errors, 'needs e_errors');
  check(errors.unknown.message.includes('nope'),
    `the 404's SDK message does not carry the problem detail: ${show(errors.unknown.message)}`
    + ' (openai SDKs read the body\'s "error": {message, type, param, code} member)');
  check(errors.zero.message.includes('max_tokens'),
    `the 400's SDK message does not carry the problem detail: ${show(errors.zero.message)}`);
});

await step('f_text_completion', async () => {
  const c = await client.completions.create({ model, prompt: PROMPT, temperature: 0, max_tokens: 12 });
  check(c.object === 'text_completion', `object is ${show(c.object)}, expected "text_completion"`);
  check(c.model === model, `model is ${show(c.model)}`);
  const choice = c.choices?.[0];
  check(typeof choice?.text === 'string' && choice.text.length > 0, `choices[0].text is ${show(choice?.text)}`);
  check(choice.finish_reason === 'length', `finish_reason is ${show(choice.finish_reason)}, expected "length"`);
  check(c.usage.completion_tokens === 12 && c.usage.total_tokens === c.usage.prompt_tokens + 12, `usage is ${show(c.usage)}`);
  // Streamed text completion: the same greedy text.
  let streamed = '';
  for await (const chunk of await client.completions.create({ model, prompt: PROMPT, temperature: 0, max_tokens: 12, stream: true })) {
    streamed += chunk.choices?.[0]?.text ?? '';
  }
  check(streamed === choice.text, `streamed text ${show(streamed)} differs from ${show(choice.text)}`);
  return { text: choice.text };
});

// ---- issue 14: every parameter honoured or refused ----------------------------------------------

await step('h_n_three_choices', async () => {
  const c = await client.chat.completions.create({ model, messages: user(PROMPT), temperature: 1, seed: 7, max_tokens: 10, n: 3 });
  check(c.choices.length === 3, `expected 3 choices, got ${c.choices.length}`);
  check(c.choices.map((x) => x.index).join() === '0,1,2', `indexes ${show(c.choices.map((x) => x.index))}`);
  const texts = ['', '', ''];
  let finishes = 0;
  for await (const chunk of await client.chat.completions.create({ model, messages: user(PROMPT), temperature: 1, seed: 7,
    max_tokens: 10, n: 3, stream: true })) {
    for (const ch of chunk.choices) {
      texts[ch.index] += ch.delta?.content ?? '';
      if (ch.finish_reason) finishes++;
    }
  }
  check(finishes === 3, `streamed ${finishes} finishes, expected 3`);
  for (let i = 0; i < 3; i++) {
    check(texts[i] === c.choices[i].message.content, `streamed choice ${i} ${show(texts[i])} differs from ${show(c.choices[i].message.content)}`);
  }
  return { texts };
});

await step('i_logprobs_top5', async () => {
  const c = await client.chat.completions.create({ model, messages: user(PROMPT), temperature: 0, max_tokens: 5,
    logprobs: true, top_logprobs: 5 });
  const content = c.choices[0].logprobs?.content;
  check(Array.isArray(content) && content.length === 5, `logprobs.content is ${show(content)}`);
  for (const t of content) {
    check(typeof t.token === 'string' && t.logprob <= 0 && t.top_logprobs.length === 5, `entry ${show(t)}`);
    check(Math.abs(t.top_logprobs[0].logprob - t.logprob) < 1e-9, `greedy token is not the top one: ${show(t)}`);
  }
  return { logprobs: content.map((t) => ({ token: t.token, logprob: t.logprob, top: t.top_logprobs.map((x) => x.logprob) })) };
});

const PERSON = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 20 },
    age: { type: 'integer' },
    pet: { type: 'object', properties: { kind: { type: 'string', enum: ['cat', 'dog'] }, legs: { type: 'integer' } },
      required: ['kind', 'legs'], additionalProperties: false },
  },
  required: ['name', 'age', 'pet'],
  additionalProperties: false,
};
await step('j_json_schema', async () => {
  const outputs = [];
  for (let seed = 0; seed < 5; seed++) {
    const c = await client.chat.completions.create({ model, messages: user(PROMPT), temperature: 1, seed, max_tokens: 60,
      response_format: { type: 'json_schema', json_schema: { name: 'person', strict: true, schema: PERSON } } });
    const text = c.choices[0].message.content;
    const value = JSON.parse(text);
    check(typeof value.name === 'string' && Number.isInteger(value.age) && ['cat', 'dog'].includes(value.pet?.kind)
      && Number.isInteger(value.pet.legs) && Object.keys(value).length === 3, `output does not fit the schema: ${text}`);
    outputs.push(text);
  }
  return { outputs };
});

await step('k_refused_parameters', async () => {
  const refused = {};
  for (const [name, value] of [['frobnicate', 1], ['functions', []], ['audio', {}], ['reasoning_effort', 'low'],
    ['tools', [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } }]]]) {
    const e = await expectError(name, OpenAI.BadRequestError, 400,
      () => client.chat.completions.create({ model, messages: user(PROMPT), max_tokens: 3, [name]: value }));
    check(e.message.includes(name), `the refusal of ${name} does not name it: ${e.message}`);
    refused[name] = e.message;
  }
  return { refused };
});

summary.ok = summary.failures.length === 0;
console.log(JSON.stringify(summary));
if (!summary.ok) {
  console.error(`openai-client: ${summary.failures.length} check(s) failed:\n  ${summary.failures.join('\n  ')}`);
  process.exit(1);
}
