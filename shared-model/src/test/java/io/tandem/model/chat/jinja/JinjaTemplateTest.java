package io.tandem.model.chat.jinja;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tandem.model.chat.jinja.JinjaException.Kind;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The engine against Python Jinja2 3.1 under transformers' settings (trim_blocks, lstrip_blocks): every
 * expected string here is what Jinja2 renders for the same source (checked with Jinja2 itself), so the
 * features chat templates lean on behave the same in Java.
 */
class JinjaTemplateTest {

    private static String render(String source) {
        return render(source, Map.of());
    }

    private static String render(String source, Map<String, ?> variables) {
        return JinjaTemplate.compile(source).render(variables);
    }

    @Test
    void blockTagsTakeTheirLineWithThemAsInTransformers() {
        assertThat(render("{% if true %}\n  yes\n{% endif %}\n")).isEqualTo("  yes\n");
        assertThat(render("a\n    {% if true %}\nb\n    {% endif %}\nc")).isEqualTo("a\nb\nc");
        assertThat(render("{# comment #}\nx\n")).isEqualTo("x");
    }

    @Test
    void expressionTagsKeepTheNewlineAfterThem() {
        assertThat(render("{{ 'a' }}\n{{ 'b' }}")).isEqualTo("a\nb");
    }

    @Test
    void minusStripsAndPlusKeepsWhitespace() {
        assertThat(render("  {%- if true -%}  x  {%- endif -%}  ")).isEqualTo("x");
        assertThat(render("{%+ if true %}x{% endif +%}\n  {%+ if true %}y{% endif %}")).isEqualTo("x\n  y");
    }

    @Test
    void loopVariablesElseFilterBreakAndContinue() {
        assertThat(render("{% for x in [1,2,3] %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}"
                + "{{ ',' if not loop.last }}{% endfor %}")).isEqualTo("1/0/3,2/1/2,3/2/1");
        assertThat(render("{% for x in [] %}a{% else %}empty{% endfor %}")).isEqualTo("empty");
        assertThat(render("{% for x in range(10) if x is odd %}{{ x }}{% if x > 5 %}{% break %}{% endif %}"
                + "{% endfor %}")).isEqualTo("1357");
        assertThat(render("{% for x in [1, 2, 3] %}{% if x == 2 %}{% continue %}{% endif %}{{ x }}{% endfor %}"))
                .isEqualTo("13");
        assertThat(render("{% for x in 'abc' %}{{ loop.cycle('o','e') }}{{ loop.previtem is defined }}{% endfor %}"))
                .isEqualTo("oFalseeTrueoTrue");
    }

    @Test
    void aSetInsideALoopStaysThereUnlessItGoesThroughANamespace() {
        assertThat(render("{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{% endfor %}{{ x }}")).isEqualTo("1");
        assertThat(render("{% set ns = namespace(found=false, n=[1,2]|length - 1) %}"
                + "{% for x in [1,2] %}{% set ns.found = true %}{% endfor %}{{ ns.found }} {{ ns.n }}"))
                .isEqualTo("True 1");
    }

    @Test
    void slicesAndNegativeIndicesAreThoseOfPython() {
        assertThat(render("{{ [1,2,3,4][1:] }} {{ [1,2,3,4][::-1] }} {{ 'hello'[1:3] }} {{ 'hello'[::-1] }}"
                + " {{ [1,2,3,4][-2:] }} {{ 'abc'[-1] }} {{ [1,2,3,4,5][::2] }} {{ [1,2,3][5:] }}"))
                .isEqualTo("[2, 3, 4] [4, 3, 2, 1] el olleh [3, 4] c [1, 3, 5] []");
    }

    @Test
    void pythonStringMethods() {
        assertThat(render("{{ '  hi  '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ '  hi'.lstrip() }}|{{ 'hi  '.rstrip() }}"
                + "|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}"
                + "|{{ 'a b c'.rsplit(' ', 1) }}|{{ 'hello world'.title() }}|{{ 'Hi'.upper() }}{{ 'Hi'.lower() }}"
                + "|{{ 'abc'.startswith('ab') }}{{ 'abc'.endswith(('x','c')) }}|{{ 'a-b-c'.replace('-', '+', 1) }}"
                + "|{{ ', '.join(['x','y']) }}|{{ 'hELLO'.capitalize() }}|{{ '{} and {name}'.format(1, name='n') }}"
                + "|{{ 'banana'.count('an') }}{{ 'banana'.find('n') }}"))
                .isEqualTo("hi|hi|hi|hi|['a', 'b', '', 'c']|['a', 'b']|['a', 'b c']|['a b', 'c']|Hello World|HIhi"
                        + "|TrueTrue|a+b-c|x, y|Hello|1 and n|22");
    }

    @Test
    void tojsonWritesWhatPythonsJsonDumpsWrites() {
        assertThat(render("{{ {'name': 'f', 'args': [1, 2.5, none, true, 'é\"\\n']} | tojson }}"))
                .isEqualTo("{\"name\": \"f\", \"args\": [1, 2.5, null, true, \"é\\\"\\n\"]}");
        assertThat(render("{{ {'a': {'b': [1, {}]}, 'c': []} | tojson(indent=2) }}"))
                .isEqualTo("{\n  \"a\": {\n    \"b\": [\n      1,\n      {}\n    ]\n  },\n  \"c\": []\n}");
        assertThat(render("{{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }} {{ {'a': [1, 2]} | tojson(separators=(',', ':')) }}"
                + " {{ 'é' | tojson(ensure_ascii=true) }}"))
                .isEqualTo("{\"a\": 2, \"b\": 1} {\"a\":[1,2]} \"\\u00e9\"");
    }

    @Test
    void valuesPrintAsPythonPrintsThem() {
        assertThat(render("{{ none }}|{{ true }}|{{ 1.0 }}|{{ 1e20 }}|{{ 0.1 + 0.2 }}|{{ 7 / 2 }}|{{ 7 // 2 }}"
                + "|{{ -7 // 2 }}|{{ -7 % 3 }}|{{ 2 ** 10 }}|{{ [1, 'a', none, \"it's\"] }}|{{ {'a': 1} }}"
                + "|{{ undefined_var }}|{{ 1.5e-7 }}|{{ 123456789.125 }}"))
                .isEqualTo("None|True|1.0|1e+20|0.30000000000000004|3.5|3|-4|2|1024|[1, 'a', None, \"it's\"]"
                        + "|{'a': 1}||1.5e-07|123456789.125");
    }

    @Test
    void operatorsAndTheirPrecedence() {
        assertThat(render("{{ 1 + 2 * 3 }} {{ 'a' ~ 1 ~ none }} {{ 'ab' * 2 }} {{ 1 if false }}|{{ 'x' if 0 else 'y' }}"
                + " {{ 1 < 2 < 3 }} {{ 'b' in 'abc' }} {{ 'z' not in ['a'] }} {{ not none }} {{ none or 'd' }}"
                + " {{ 0 and 1 }} {{ [1] + [2] }} {{ 'a' + 'b' ~ 'c' }}"))
                .isEqualTo("7 a1None abab |y True True True True d 0 [1, 2] abc");
        // filters and tests bind tighter than arithmetic and 'not'
        assertThat(render("{{ not 1 is none }} {{ -2|abs }} {{ -(2) }} {{ 'x' + ' y '|trim }}"))
                .isEqualTo("True 2 -2 xy");
    }

    @Test
    void filters() {
        assertThat(render("{{ [3,1,2]|sort|join(',') }} {{ ['b','A','c']|sort|join }} {{ [1,2,3]|reverse|list }}"
                + " {{ ' x '|trim }} {{ undefined_var|default('d') }} {{ ''|default('e', true) }} {{ [1,2]|first }}"
                + "{{ [1,2]|last }} {{ 'abc'|length }} {{ {'a':1,'b':2}|items|list }}"
                + " {{ [{'n':'x'},{'n':'y'}]|map(attribute='n')|join('+') }} {{ ['a','code','b']|reject('equalto','code')|list }}"
                + " {{ [{'r':'u'},{'r':'a'}]|selectattr('r','equalto','u')|list|length }} {{ ['a','b']|map('upper')|list }}"
                + " {{ 'a\\nb'|indent(2) }} {{ 3.7|int }} {{ '42'|int + 1 }} {{ [1,2,2,1]|unique|list }} {{ [1,5,3]|max }}"
                + " {{ [1,2,3]|sum }} {{ 'hi'|upper }} {{ 2.5|round }} {{ [1,2,3]|select('odd')|list }}"))
                .isEqualTo("1,2,3 Abc [3, 2, 1] x d e 12 3 [('a', 1), ('b', 2)] x+y ['a', 'b'] 1 ['A', 'B'] a\n  b"
                        + " 3 43 [1, 2] 5 6 HI 2.0 [1, 3]");
    }

    @Test
    void tests() {
        assertThat(render("{{ x is defined }} {{ none is none }} {{ 'a' is string }} {{ 1 is number }} {{ {} is mapping }}"
                + " {{ [] is iterable }} {{ 3 is odd }} {{ 4 is divisibleby 2 }} {{ false is false }} {{ 1 is integer }}"
                + " {{ 1.5 is float }} {{ 'a' is in 'abc' }} {{ 'A' is upper }} {{ x is not defined }}"
                + " {{ true is boolean }} {{ 2 is eq 2 }}"))
                .isEqualTo("False True True True True True True True True True True True True True True True");
    }

    @Test
    void macrosSetBlocksDictsAndUnpacking() {
        assertThat(render("{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}"
                + "{{ greet('Bo') }} {{ greet('Al', punct='?') }}")).isEqualTo("Hi Bo! Hi Al?");
        assertThat(render("{% set body %}x{{ 1 + 1 }}{% endset %}[{{ body }}]")).isEqualTo("[x2]");
        assertThat(render("{% set d = {'items': 1, 'k': 'v'} %}{{ d.k }} {{ d['items'] }} {{ d.missing is defined }}"
                + " {{ d.get('k') }} {{ d.get('z', 'dflt') }}")).isEqualTo("v 1 False v dflt");
        assertThat(render("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}"
                + "{% for k in {'a':1,'b':2} %}{{ k }}{% endfor %}")).isEqualTo("a=1;b=2;ab");
        assertThat(render("{% set a, b = 1, 2 %}{{ a }}{{ b }} {{ (1, 2) | length }}")).isEqualTo("12 2");
    }

    @Test
    void rawBlocksStringEscapesAndGenerationMarkers() {
        assertThat(render("{% raw %}{{ not rendered }}{% endraw %}")).isEqualTo("{{ not rendered }}");
        assertThat(render("{{ 'a\\tb\\u00e9\\x41\\\\' }}")).isEqualTo("a\tbéA\\");
        assertThat(render("{% for m in ['x'] %}{% generation %}{{ m }}{% endgeneration %}{% endfor %}")).isEqualTo("x");
    }

    @Test
    void variablesComeFromTheCallerAsPythonValues() {
        Map<String, Object> variables = Map.of(
                "messages", List.of(Map.of("role", "user", "content", "hi")),
                "count", 3, // an Integer becomes a Python int
                "ratio", 0.5f);
        assertThat(render("{{ messages[0]['role'] }}/{{ messages[0].content }} {{ count + 1 }} {{ ratio }}"
                + " {{ messages[0].tool_calls is defined }}", variables)).isEqualTo("user/hi 4 0.5 False");
    }

    @Test
    void strftimeNowReadsTheGivenClock() {
        Clock clock = Clock.fixed(Instant.parse("2024-07-26T09:05:00Z"), ZoneOffset.UTC);
        assertThat(JinjaTemplate.compile("{{ strftime_now('%d %b %Y') }} {{ strftime_now('%Y-%m-%d %H:%M %A') }}", clock)
                .render(Map.of())).isEqualTo("26 Jul 2024 2024-07-26 09:05 Friday");
    }

    // ---- failures: each names the problem and the line ----

    @Test
    void raiseExceptionStopsTheRenderWithTheTemplatesMessage() {
        assertThatThrownBy(() -> render("ok\n{{ raise_exception('Only user and assistant roles are supported!') }}"))
                .isInstanceOfSatisfying(JinjaException.class, e -> {
                    assertThat(e.kind()).isEqualTo(Kind.RAISED);
                    assertThat(e.detail()).isEqualTo("Only user and assistant roles are supported!");
                    assertThat(e.line()).isEqualTo(2);
                });
    }

    @Test
    void syntaxErrorsNameTheProblemAndLine() {
        assertSyntaxError("line one\n{{ x | no_such_filter }}", 2, "no filter named 'no_such_filter'");
        assertSyntaxError("{{ x is no_such_test }}", 1, "no test named 'no_such_test'");
        assertSyntaxError("\n\n{% include 'other.jinja' %}", 3, "unknown tag 'include'");
        assertSyntaxError("{% for m in messages %}\n{{ m }}", 2, "the 'for' block opened at line 1 is never closed");
        assertSyntaxError("{% if true %}{% endfor %}", 1, "unexpected 'endfor' inside the 'if' block");
        assertSyntaxError("{% endif %}", 1, "unexpected 'endif': no block is open");
        assertSyntaxError("{{ 'unterminated }}", 1, "unterminated string literal");
        assertSyntaxError("{{ 1 + }}", 1, "unexpected '}}' where a value was expected");
        assertSyntaxError("a\n{{ x", 2, "lacks its '}}'");
        assertSyntaxError("{% break %}", 1, "'break' outside a for loop");
        assertSyntaxError("{% for x in y recursive %}{% endfor %}", 1, "recursive loops are not supported");
    }

    private static void assertSyntaxError(String source, int line, String detail) {
        assertThatThrownBy(() -> JinjaTemplate.compile(source))
                .as(source)
                .isInstanceOfSatisfying(JinjaException.class, e -> {
                    assertThat(e.kind()).isEqualTo(Kind.SYNTAX);
                    assertThat(e.line()).isEqualTo(line);
                    assertThat(e.detail()).contains(detail);
                    assertThat(e.getMessage()).startsWith("template syntax error at line " + line + ": ");
                });
    }

    @Test
    void renderErrorsNameTheProblemAndLine() {
        assertRenderError("{{ undefined_var.attribute }}", 1, "'undefined_var' is undefined");
        assertRenderError("\n{{ 'a' + 1 }}", 2, "unsupported operand type(s) for +: 'str' and 'int'");
        assertRenderError("{{ no_such_function() }}", 1, "'no_such_function' is undefined");
        assertRenderError("{% set x = 1 %}{% set x.y = 2 %}", 1, "cannot assign attribute on a int");
        assertRenderError("{% for x in none %}{% endfor %}", 1, "'NoneType' object is not iterable");
        assertRenderError("{{ undefined_var | tojson }}", 1, "Object of type Undefined is not JSON serializable");
        assertRenderError("{{ [1].append(2) }}", 1, "'list object' has no attribute 'append'");
    }

    @Test
    void runawayTemplatesHitLimits() {
        assertRenderError("{% for i in range(1000000) %}{% endfor %}", 1, "range() is limited to 100000 items");
        assertRenderError("{{ 'x' * 100000000 }}", 1, "result too large");
        assertRenderError("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", 1, "macro calls nest deeper than");
        assertRenderError("{% for i in range(2000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}", 1,
                "more than 1000000 loop iterations");
    }

    private static void assertRenderError(String source, int line, String detail) {
        JinjaTemplate template = JinjaTemplate.compile(source);
        assertThatThrownBy(() -> template.render(Map.of()))
                .as(source)
                .isInstanceOfSatisfying(JinjaException.class, e -> {
                    assertThat(e.kind()).isEqualTo(Kind.RENDER);
                    assertThat(e.line()).isEqualTo(line);
                    assertThat(e.detail()).contains(detail);
                });
    }
}
