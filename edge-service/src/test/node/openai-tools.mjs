// The official openai npm client asks an edge serving a tool-capable model for a tool call:
// node openai-tools.mjs <baseUrl>. Prints one JSON summary line; exits 1 when a check fails.
import OpenAI from 'openai';

const baseUrl = (process.argv[2] || '').replace(/\/+$/, '');
const client = new OpenAI({ baseURL: baseUrl + '/v1', apiKey: 'unused', maxRetries: 0, timeout: 60_000 });
const summary = { ok: false, failures: [] };
try {
  const models = [];
  for await (const m of client.models.list()) models.push(m.id);
  const c = await client.chat.completions.create({
    model: models[0],
    messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
    tools: [{
      type: 'function',
      function: {
        name: 'get_weather',
        description: 'The forecast',
        parameters: {
          type: 'object',
          properties: { city: { type: 'string', maxLength: 20 }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
            days: { type: 'integer' } },
          required: ['city', 'unit', 'days'],
          additionalProperties: false,
        },
      },
    }],
    tool_choice: { type: 'function', function: { name: 'get_weather' } },
    temperature: 1,
    seed: 11,
    max_tokens: 80,
  });
  const choice = c.choices[0];
  const call = choice.message.tool_calls?.[0];
  if (choice.finish_reason !== 'tool_calls') summary.failures.push(`finish_reason ${choice.finish_reason}`);
  if (!call || call.type !== 'function' || call.function.name !== 'get_weather') {
    summary.failures.push(`no get_weather call: ${JSON.stringify(choice.message)}`);
  } else {
    const args = JSON.parse(call.function.arguments);
    if (typeof args.city !== 'string' || !['celsius', 'fahrenheit'].includes(args.unit) || !Number.isInteger(args.days)) {
      summary.failures.push(`arguments do not fit the schema: ${call.function.arguments}`);
    }
    summary.arguments = call.function.arguments;
  }
} catch (e) {
  summary.failures.push(`${e.constructor?.name}: ${e.message}`);
}
summary.ok = summary.failures.length === 0;
console.log(JSON.stringify(summary));
process.exit(summary.ok ? 0 : 1);
