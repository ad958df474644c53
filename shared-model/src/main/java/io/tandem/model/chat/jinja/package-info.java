/**
 * A small Jinja engine for model chat templates, written to render what Python Jinja2 renders under
 * transformers' {@code apply_chat_template} settings ({@code trim_blocks}, {@code lstrip_blocks},
 * {@code ImmutableSandboxedEnvironment}), since the prompt text must match the model's training format to
 * the character.
 *
 * <p>Supported: {@code if/elif/else}, {@code for} (tuple unpacking, {@code else}, inline {@code if}
 * filter, {@code loop.*}, {@code break/continue}), {@code set} (names, tuples, {@code namespace}
 * attributes, block set), {@code macro}, {@code raw}, transformers' {@code generation} marker, comments
 * and all whitespace control; Jinja2's operator precedence; Python values and printing (None, True,
 * floats, lists, dicts, tuples), slices with steps, negative indices, {@code str} methods (strip/lstrip/
 * rstrip with characters, split/rsplit, startswith/endswith, upper/lower/title/capitalize, replace, find,
 * count, join, format...) and {@code dict} methods (items/keys/values/get); the common filters and
 * tests; globals {@code raise_exception}, {@code namespace}, {@code range}, {@code dict}, {@code joiner},
 * {@code strftime_now}; transformers' {@code tojson} (Python {@code json.dumps} output).
 *
 * <p>Not supported, failing at compile time with the tag or filter named: {@code include},
 * {@code extends}, {@code import}, {@code block}, {@code call}, {@code filter} and {@code with} tags,
 * recursive loops, and rarely used filters (groupby, batch, slice, truncate, wordwrap, urlencode,
 * xmlattr, center, filesizeformat). Known differences: {@code map}, {@code select} and friends return
 * lists where Jinja2 returns generators, so {@code tools|map(attribute='function')|tojson} renders where
 * Python raises; tuples compare equal to lists; no HTML autoescaping (transformers has none either).
 *
 * <p>Templates come from model files, so nothing here reaches Java reflection, and a render is bounded
 * (output size, loop iterations, {@code range()} and repetition sizes, macro nesting).
 */
package io.tandem.model.chat.jinja;
