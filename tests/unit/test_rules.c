/*
 * The rule-file parser: valid files in all their forms, and every error with
 * its exact "FILE:LINE: reason".  Each test runs in a fresh temporary
 * directory (the current directory), so file names in errors are short.
 */

#include "cm_rules_test.h"


static void
assert_word(const cm_rule_def_t *r, size_t i, const char *text,
    unsigned prefix, unsigned suffix, const char *file, unsigned line)
{
    assert_true(i < r->nwords);
    assert_string_equal(r->words[i].text, text);
    assert_int_equal(r->words[i].len, strlen(text));
    assert_int_equal(r->words[i].prefix, prefix);
    assert_int_equal(r->words[i].suffix, suffix);
    assert_string_equal(r->words[i].file, file);
    assert_int_equal(r->words[i].line, line);
}


/* --- valid files ---------------------------------------------------------- */

static void
test_one_line_rule(void **state)
{
    cm_rules_t           *rules;
    const cm_rule_def_t  *r;

    (void) state;

    rules = load_text(
        "rule wa-number regex \"(?:\\+?62|0)8[0-9 .-]{8,14}\" view raw "
        "score 4 shadow\n");
    assert_int_equal(rules->nrules, 1);

    r = &rules->rules[0];
    assert_string_equal(r->name, "wa-number");
    assert_string_equal(r->file, "x.rules");
    assert_int_equal(r->line, 1);
    assert_int_equal(r->kind, CM_RULE_REGEX);
    assert_string_equal(r->regex, "(?:\\+?62|0)8[0-9 .-]{8,14}");
    assert_int_equal(r->regex_line, 1);
    assert_int_equal(r->views, CM_RULE_VIEW_RAW);
    assert_int_equal(r->action, CM_ACTION_SCORE);
    assert_int_equal(r->score, 4);
    assert_int_equal(r->shadow, 1);
    assert_int_equal(r->min_count, 1);
    assert_int_equal(r->fields, CM_FIELD_BIT(CM_FIELD_TEXT));
    assert_null(r->note);
    assert_null(r->words);
    assert_int_equal(r->nwords, 0);
}


static void
test_multi_line_rule(void **state)
{
    cm_rules_t           *rules;
    const cm_rule_def_t  *r;

    (void) state;

    rules = load_text(
        "# Judi online: vocabulary\n"
        "\n"
        "rule judol-vocab\n"
        "    words  \"slot gacor\", maxwin, togel, gacor*,\n"
        "           *88, \"judi online\"      # more below\n"
        "# a comment at column 0 does not end the rule\n"
        "\n"
        "    score  6\n"
        "    note   \"Gambling vocabulary: \\\"slot gacor\\\" and friends.\"\n"
        "\n"
        "rule next words a score 1\n");
    assert_int_equal(rules->nrules, 2);

    r = &rules->rules[0];
    assert_string_equal(r->name, "judol-vocab");
    assert_int_equal(r->line, 3);
    assert_int_equal(r->kind, CM_RULE_WORDS);
    assert_int_equal(r->nwords, 6);
    assert_word(r, 0, "slot gacor", 0, 0, "x.rules", 4);
    assert_word(r, 1, "maxwin", 0, 0, "x.rules", 4);
    assert_word(r, 2, "togel", 0, 0, "x.rules", 4);
    assert_word(r, 3, "gacor", 1, 0, "x.rules", 4);
    assert_word(r, 4, "88", 0, 1, "x.rules", 5);
    assert_word(r, 5, "judi online", 0, 0, "x.rules", 5);
    assert_int_equal(r->score, 6);
    assert_string_equal(r->note,
                        "Gambling vocabulary: \"slot gacor\" and friends.");
    assert_int_equal(r->views, CM_RULE_VIEW_FOLDED | CM_RULE_VIEW_DELEET);
    assert_null(r->regex);

    assert_string_equal(rules->rules[1].name, "next");
    assert_int_equal(rules->rules[1].line, 11);
}


static void
test_defaults_and_empty_files(void **state)
{
    cm_rules_t  *rules;

    (void) state;

    put("empty.rules", "");
    rules = load_ok("empty.rules");
    assert_int_equal(rules->nrules, 0);
    assert_int_equal(rules->queue_at, 5);
    assert_int_equal(rules->reject_at, 10);
    assert_int_equal(rules->regex_error, CM_REGEX_ERROR_QUEUE);
    assert_int_equal(rules->nfiles, 1);
    assert_string_equal(rules->files[0], "empty.rules");

    put("comments.rules", "# only comments\n\n   # indented comment\n\t\n");
    rules = load_ok("comments.rules");
    assert_int_equal(rules->nrules, 0);

    /* no newline at the end */
    put("last.rules", "rule x words a score 1");
    rules = load_ok("last.rules");
    assert_int_equal(rules->nrules, 1);
}


static void
test_thresholds_and_settings(void **state)
{
    cm_rules_t  *rules;

    (void) state;

    rules = load_text(
        "threshold queue 3\n"
        "threshold reject 20\n"
        "set regex-error ignore\n"
        "threshold queue 4          # the last one wins\n"
        "threshold reject 3\n"
        "threshold reject 8\n");
    assert_int_equal(rules->queue_at, 4);
    assert_int_equal(rules->reject_at, 8);
    assert_int_equal(rules->regex_error, CM_REGEX_ERROR_IGNORE);

    put("y.rules", "set regex-error ignore\nset regex-error queue\n");
    rules = load_ok("y.rules");
    assert_int_equal(rules->regex_error, CM_REGEX_ERROR_QUEUE);
}


static void
test_all_keys(void **state)
{
    cm_rules_t           *rules;
    const cm_rule_def_t  *r;

    (void) state;

    rules = load_text(
        "rule trusted regex \"^redaksi@example\\.id$\" fields email "
        "score -3\n"
        "rule links\n"
        "    regex  'https?://'\n"
        "    fields text, url\n"
        "    view   folded, raw\n"
        "    min-count 3\n"
        "    action queue\n"
        "rule everywhere words x fields all action reject\n"
        "rule staff words redaksi fields user view deleet action accept\n"
        "rule positive words y score +2 note plain\n");
    assert_int_equal(rules->nrules, 5);

    r = rule(rules, "trusted");
    assert_int_equal(r->score, -3);
    assert_int_equal(r->fields, CM_FIELD_BIT(CM_FIELD_EMAIL));
    assert_int_equal(r->views, CM_RULE_VIEW_FOLDED);

    r = rule(rules, "links");
    assert_string_equal(r->regex, "https?://");
    assert_int_equal(r->regex_line, 3);
    assert_int_equal(r->fields,
                     CM_FIELD_BIT(CM_FIELD_TEXT) | CM_FIELD_BIT(CM_FIELD_URL));
    assert_int_equal(r->views, CM_RULE_VIEW_FOLDED | CM_RULE_VIEW_RAW);
    assert_int_equal(r->min_count, 3);
    assert_int_equal(r->action, CM_ACTION_QUEUE);
    assert_int_equal(r->shadow, 0);

    r = rule(rules, "everywhere");
    assert_int_equal(r->fields, CM_FIELD_BIT(CM_FIELD_N) - 1);
    assert_int_equal(r->action, CM_ACTION_REJECT);

    r = rule(rules, "staff");
    assert_int_equal(r->fields, CM_FIELD_BIT(CM_FIELD_USER));
    assert_int_equal(r->views, CM_RULE_VIEW_DELEET);
    assert_int_equal(r->action, CM_ACTION_ACCEPT);

    r = rule(rules, "positive");
    assert_int_equal(r->score, 2);
    assert_string_equal(r->note, "plain");
}


static void
test_quoting(void **state)
{
    cm_rules_t           *rules;
    const cm_rule_def_t  *r;

    (void) state;

    rules = load_text(
        "rule digits regex \"\\d{4}\\s\\\"#\\\\x\" score 1  # \\\" escapes\n"
        "rule single regex '\\d\"#x\\' score 1\n"
        "rule hash words \"no # comment\", c#, Jum'at score 1\n");

    /* "\d{4}\s\"#\\x" -> \d{4}\s"#\\x : only \" is an escape */
    assert_string_equal(rule(rules, "digits")->regex, "\\d{4}\\s\"#\\\\x");
    assert_string_equal(rule(rules, "single")->regex, "\\d\"#x\\");

    r = rule(rules, "hash");
    assert_int_equal(r->nwords, 3);
    assert_string_equal(r->words[0].text, "no # comment");
    assert_string_equal(r->words[1].text, "c#");
    assert_string_equal(r->words[2].text, "Jum'at");
}


static void
test_adjacent_quotes_are_rejected(void **state)
{
    (void) state;

    put("x.rules", "rule q words 'it''s' score 1\n");
    expect_error("x.rules",
                 "x.rules:1: a space or \",\" must follow the closing quote "
                 "of 'it'");
}


static void
test_crlf_bom_tabs(void **state)
{
    cm_rules_t           *rules;
    const cm_rule_def_t  *r;

    (void) state;

    rules = load_text(
        "\xef\xbb\xbf# saved by Notepad\r\n"
        "rule judol\r\n"
        "\twords gacor,\r\n"
        "\t\tmaxwin\r\n"
        "\tscore 5\r\n"
        "\r\n"
        "rule wa regex \"08\\d+\" \t score 2\r\n");
    assert_int_equal(rules->nrules, 2);

    r = rule(rules, "judol");
    assert_int_equal(r->line, 2);
    assert_int_equal(r->nwords, 2);
    assert_word(r, 0, "gacor", 0, 0, "x.rules", 3);
    assert_word(r, 1, "maxwin", 0, 0, "x.rules", 4);
    assert_int_equal(r->score, 5);

    r = rule(rules, "wa");
    assert_string_equal(r->regex, "08\\d+");
    assert_int_equal(r->line, 7);
}


static void
test_utf8_words(void **state)
{
    cm_rules_t           *rules;
    const cm_rule_def_t  *r;

    (void) state;

    rules = load_text(
        "rule lookalike\n"
        "    words \"\xf0\x9d\x90\x92\xf0\x9d\x90\x8b\xf0\x9d\x90\x8e"
        "\xf0\x9d\x90\x93\", \xd1\x95lot, kaf\xc3\xa9*\n"
        "    score 3\n");
    r = rule(rules, "lookalike");
    assert_int_equal(r->nwords, 3);
    assert_word(r, 0, "\xf0\x9d\x90\x92\xf0\x9d\x90\x8b\xf0\x9d\x90\x8e"
                "\xf0\x9d\x90\x93", 0, 0, "x.rules", 2);
    assert_word(r, 1, "\xd1\x95lot", 0, 0, "x.rules", 2);
    assert_word(r, 2, "kaf\xc3\xa9", 1, 0, "x.rules", 2);
}


static void
test_list_continuations(void **state)
{
    cm_rules_t           *rules;
    const cm_rule_def_t  *r;

    (void) state;

    rules = load_text(
        "rule x\n"
        "    words a,\n"
        "          b\n"
        "        , c          # a leading comma continues too\n"
        "    words d          # \"words\" may be given again\n"
        "    score 1\n");
    r = rule(rules, "x");
    assert_int_equal(r->nwords, 4);
    assert_word(r, 0, "a", 0, 0, "x.rules", 2);
    assert_word(r, 1, "b", 0, 0, "x.rules", 3);
    assert_word(r, 2, "c", 0, 0, "x.rules", 4);
    assert_word(r, 3, "d", 0, 0, "x.rules", 5);
}


static void
test_keywords_any_case(void **state)
{
    cm_rules_t           *rules;
    const cm_rule_def_t  *r;

    (void) state;

    rules = load_text(
        "Threshold Queue 6\n"
        "RULE Judol Words Gacor Fields Text, NAME Score 2 Shadow\n");
    assert_int_equal(rules->queue_at, 6);
    r = rule(rules, "Judol");
    assert_string_equal(r->words[0].text, "Gacor");
    assert_int_equal(r->fields,
                     CM_FIELD_BIT(CM_FIELD_TEXT)
                     | CM_FIELD_BIT(CM_FIELD_NAME));
    assert_int_equal(r->shadow, 1);
}


static void
test_acceptance_line(void **state)
{
    cm_rules_t  *rules;

    (void) state;

    /* as the acceptance check writes it: the trailing space is fine */
    put("broken.rules", "rule broken regex \"(((\" \n");
    expect_error("broken.rules",
                 "broken.rules:1: rule \"broken\" has neither \"score\" nor "
                 "\"action\" (add score N or action reject|queue|accept)");

    /* with a score it parses: the engine reports the pattern */
    put("broken2.rules", "rule broken regex \"(((\" score 1 \n");
    rules = load_ok("broken2.rules");
    assert_string_equal(rules->rules[0].regex, "(((");
    assert_int_equal(rules->rules[0].regex_line, 1);
    assert_string_equal(rules->rules[0].file, "broken2.rules");
}


static void
test_include(void **state)
{
    cm_rules_t  *rules;

    (void) state;

    put("main.rules",
        "threshold queue 4\n"
        "include id/judol.rules\n"
        "include ./id/../common.rules\n"
        "rule last words z score 1\n");
    put("id/judol.rules",
        "rule judol words gacor score 6\n"
        "include ../common.rules          # already read: skipped\n"
        "threshold reject 12\n");
    put("common.rules", "rule common words x score 1\n");

    rules = load_ok("main.rules");
    assert_int_equal(rules->nrules, 3);
    assert_string_equal(rules->rules[0].name, "judol");
    assert_string_equal(rules->rules[0].file, "id/judol.rules");
    assert_string_equal(rules->rules[1].name, "common");
    assert_string_equal(rules->rules[1].file, "common.rules");
    assert_string_equal(rules->rules[2].name, "last");
    assert_int_equal(rules->queue_at, 4);
    assert_int_equal(rules->reject_at, 12);

    assert_int_equal(rules->nfiles, 3);
    assert_string_equal(rules->files[0], "main.rules");
    assert_string_equal(rules->files[1], "id/judol.rules");
    assert_string_equal(rules->files[2], "common.rules");

    /* rule->file points into files[] */
    assert_ptr_equal(rules->rules[0].file, rules->files[1]);
}


static void
test_include_absolute(void **state)
{
    char         text[128], path[128];
    cm_rules_t  *rules;

    (void) state;

    put("lists/a.rules", "rule a words x score 1\n");
    snprintf(text, sizeof(text), "include \"%s/lists/a.rules\"\n",
             cm_test_dir);
    rules = load_text(text);
    snprintf(path, sizeof(path), "%s/lists/a.rules", cm_test_dir);
    assert_string_equal(rules->rules[0].file, path);

    /* and the entry point given as an absolute path */
    snprintf(path, sizeof(path), "%s//lists/./a.rules", cm_test_dir);
    rules = load_ok(path);
    snprintf(path, sizeof(path), "%s/lists/a.rules", cm_test_dir);
    assert_string_equal(rules->files[0], path);
}


static void
test_directories(void **state)
{
    cm_rules_t  *rules;

    (void) state;

    put("rules/20-judol.rules", "rule judol words gacor score 6\n");
    put("rules/10-base.rules", "threshold queue 4\n");
    put("rules/30-links.rules", "rule links regex 'http' score 1\n");
    put("rules/brands.txt", "not rules\n");
    put("rules/.#20-judol.rules", "editor lock file, ignored\n");
    put("rules/old.rules.bak", "ignored\n");
    put("rules/sub.rules/x.rules", "a directory named *.rules: ignored\n");

    rules = load_ok("rules");
    assert_int_equal(rules->nfiles, 3);
    assert_string_equal(rules->files[0], "rules/10-base.rules");
    assert_string_equal(rules->files[1], "rules/20-judol.rules");
    assert_string_equal(rules->files[2], "rules/30-links.rules");
    assert_int_equal(rules->nrules, 2);
    assert_int_equal(rules->queue_at, 4);

    /* included; a file both listed and included is read once */
    put("main.rules", "include rules/\ninclude rules/20-judol.rules\n");
    rules = load_ok("main.rules");
    assert_int_equal(rules->nfiles, 4);
    assert_string_equal(rules->files[1], "rules/10-base.rules");
    assert_int_equal(rules->nrules, 2);
}


static void
test_words_file(void **state)
{
    cm_rules_t           *rules;
    const cm_rule_def_t  *r;

    (void) state;

    put("lists/brands.txt",
        "# judol brands, one a line\n"
        "sultan88\r\n"
        "  \"mega win\"     # quoted\n"
        "hoki   jitu\n"
        "\n"
        "*gacor*\n"
        "\t# indented comment\n");
    put("id/judol.rules",
        "rule judol-brands\n"
        "    words maxwin\n"
        "    words-file ../lists/brands.txt\n"
        "    score 8\n"
        "rule judol-names words-file '../lists/brands.txt' fields name "
        "score 4\n");

    rules = load_ok("id/judol.rules");

    r = rule(rules, "judol-brands");
    assert_int_equal(r->kind, CM_RULE_WORDS);
    assert_int_equal(r->nwords, 5);
    assert_word(r, 0, "maxwin", 0, 0, "id/judol.rules", 2);
    assert_word(r, 1, "sultan88", 0, 0, "lists/brands.txt", 2);
    assert_word(r, 2, "mega win", 0, 0, "lists/brands.txt", 3);
    assert_word(r, 3, "hoki   jitu", 0, 0, "lists/brands.txt", 4);
    assert_word(r, 4, "gacor", 1, 1, "lists/brands.txt", 6);

    r = rule(rules, "judol-names");
    assert_int_equal(r->nwords, 4);
    assert_int_equal(r->fields, CM_FIELD_BIT(CM_FIELD_NAME));

    /* the words-file is listed once, and words point at that name */
    assert_int_equal(rules->nfiles, 2);
    assert_string_equal(rules->files[1], "lists/brands.txt");
    assert_ptr_equal(r->words[0].file, rules->files[1]);

    /* an emptied list leaves a rule that matches nothing */
    put("lists/brands.txt", "# nothing yet\n\n");
    rules = load_ok("id/judol.rules");
    assert_int_equal(rule(rules, "judol-names")->nwords, 0);
    assert_int_equal(rule(rules, "judol-names")->kind, CM_RULE_WORDS);
    assert_int_equal(rule(rules, "judol-brands")->nwords, 1);
}


static void
test_field_names(void **state)
{
    cm_field_e  f;

    (void) state;

    for (f = CM_FIELD_TEXT; f < CM_FIELD_N; f++) {
        assert_int_equal(cm_field_by_name(cm_field_name(f),
                                          strlen(cm_field_name(f))), f);
    }

    assert_string_equal(cm_field_name(CM_FIELD_USER_AGENT), "user-agent");
    assert_null(cm_field_name(CM_FIELD_N));

    /* length-bounded: no NUL needed, a prefix is not a match */
    assert_int_equal(cm_field_by_name("emailX", 5), CM_FIELD_EMAIL);
    assert_int_equal(cm_field_by_name("email", 4), CM_FIELD_N);
    assert_int_equal(cm_field_by_name("user", 4), CM_FIELD_USER);
    assert_int_equal(cm_field_by_name("URL", 3), CM_FIELD_URL);
    assert_int_equal(cm_field_by_name("txt", 3), CM_FIELD_N);
    assert_int_equal(cm_field_by_name("", 0), CM_FIELD_N);
}


/* --- errors in one file --------------------------------------------------- */

static const cm_test_pair_t  cm_error_cases[] = {

    /* keys and statements */
    { "rule x\n    words a\n    scor 3\n",
      "x.rules:3: unknown key \"scor\" (did you mean \"score\"?)" },
    { "rule x words a scor 3\n",
      "x.rules:1: unknown key \"scor\" (did you mean \"score\"? or: words "
      "are separated by commas; a phrase goes in quotes: \"slot gacor\")" },
    { "rule x regex \"a\" fields text name score 1\n",
      "x.rules:1: unknown key \"name\" (did you mean \"note\"? or: list "
      "values are separated by commas)" },
    { "rule x words a score 1\n    colour red\n",
      "x.rules:2: unknown key \"colour\" (keys are: words, words-file, regex, "
      "fields, view, score, action, min-count, note, shadow, expires, when, limit, "
      "when-unknown)" },
    { "rule x words slot gacor score 1\n",
      "x.rules:1: unknown key \"gacor\" (words are separated by commas; a "
      "phrase goes in quotes: \"slot gacor\")" },
    { "rule x words a, slot gacor score 1\n",
      "x.rules:1: unknown key \"gacor\" (words are separated by commas; a "
      "phrase goes in quotes: \"slot gacor\")" },
    { "rule x words a note Gambling words. score 1\n",
      "x.rules:1: unknown key \"words.\" (did you mean \"words\"? or: a note "
      "with spaces goes in quotes)" },
    { "rule judol vocab words a score 1\n",
      "x.rules:1: unknown key \"vocab\" (a rule name has no spaces: join "
      "words with \"-\" as in judol-vocab)" },
    { "rule x words a score 1 \"b\"\n",
      "x.rules:1: unexpected \"b\" where a key such as \"words\" or \"score\" "
      "should be" },
    { "rule x words a score 1 score 2\n",
      "x.rules:1: \"score\" is given twice in rule \"x\" (first at line 1)" },
    { "rule x\n    words a\n    shadow\n    shadow\n    score 1\n",
      "x.rules:4: \"shadow\" is given twice in rule \"x\" (first at line 3)" },
    { "rul x words a score 1\n",
      "x.rules:1: unknown statement \"rul\" (did you mean \"rule\"?)" },
    { "hello world\n",
      "x.rules:1: unknown statement \"hello\" (statements are: rule, include, "
      "threshold, set)" },
    { "words gacor\n",
      "x.rules:1: \"words\" belongs to a rule: indent it under its \"rule\" "
      "line" },
    { "\"rule\" x\n",
      "x.rules:1: a line must start with a statement such as \"rule\" or "
      "\"include\", got \"rule\"" },
    { "\n  rule x words a score 1\n",
      "x.rules:2: indented line with no statement above it (statements such "
      "as \"rule\" start at the beginning of a line)" },

    /* whole rules */
    { "rule x score 3\n",
      "x.rules:1: rule \"x\" has neither \"words\" nor \"regex\"" },
    { "rule x\nrule y words a score 1\n",
      "x.rules:1: rule \"x\" has neither \"words\" nor \"regex\" (a rule's "
      "keys go on its line or on indented lines below it)" },
    { "rule x\n    words a\n    regex \"b\"\n    score 1\n",
      "x.rules:3: rule \"x\" has both a word list and \"regex\" (make them "
      "two rules)" },
    { "rule x words a\n",
      "x.rules:1: rule \"x\" has neither \"score\" nor \"action\" (add score "
      "N or action reject|queue|accept)" },
    { "rule x words a score 1\n    action reject\n",
      "x.rules:2: rule \"x\" has both \"score\" and \"action\" (a rule either "
      "adds to the score or decides)" },
    { "rule x\n    words a\n    view folded, raw\n    score 1\n",
      "x.rules:3: rule \"x\": \"view raw\" is for regex rules (word lists "
      "match the folded text)" },
    { "rule\n",
      "x.rules:1: \"rule\" needs a name, as in rule judol-vocab" },
    { "rule \"a b\" words x score 1\n",
      "x.rules:1: bad rule name \"a b\": up to 64 letters a-z, digits, \"-\", "
      "\"_\" and \".\", starting with a letter or digit" },
    { "rule -x words x score 1\n",
      "x.rules:1: bad rule name \"-x\": up to 64 letters a-z, digits, \"-\", "
      "\"_\" and \".\", starting with a letter or digit" },
    { "rule a words x score 1\n\nrule A words y score 1\n",
      "x.rules:3: duplicate rule name \"A\" (first defined at line 1)" },

    /* values */
    { "rule x words a score abc\n",
      "x.rules:1: \"score\" needs a whole number, got \"abc\"" },
    { "rule x words a score 5000\n",
      "x.rules:1: \"score\" must be between -1000 and 1000, got 5000" },
    { "rule x words a score -99999999999999999999999\n",
      "x.rules:1: \"score\" must be between -1000 and 1000, got "
      "-99999999999999999999999" },
    { "rule x words a score -\n",
      "x.rules:1: \"score\" needs a whole number, got \"-\"" },
    { "rule x words a score 1.5\n",
      "x.rules:1: \"score\" needs a whole number, got \"1.5\"" },
    { "rule x words a score\n",
      "x.rules:1: \"score\" needs a value" },
    { "rule x words a min-count 0 score 1\n",
      "x.rules:1: \"min-count\" must be between 1 and 1000, got 0" },
    { "rule x words a fields txt score 1\n",
      "x.rules:1: unknown field \"txt\" (fields are: text, name, email, url, "
      "article, section, ip, user-agent, referer, user)" },
    { "rule x regex \"a\" view deleted score 1\n",
      "x.rules:1: unknown view \"deleted\" (views are: raw, folded, deleet)" },
    { "rule x words a action block\n",
      "x.rules:1: unknown action \"block\" (actions are: reject, queue, "
      "accept)" },
    { "rule x regex abc score 1\n",
      "x.rules:1: \"regex\" needs its pattern in quotes, as in regex "
      "\"abc\"" },
    { "rule x regex \"\" score 1\n",
      "x.rules:1: \"regex\" pattern is empty" },
    { "rule x words sl*t score 1\n",
      "x.rules:1: word \"sl*t\": \"*\" may only start or end a word, as in "
      "gacor* or *gacor" },
    { "rule x words \"!!!\" score 1\n",
      "x.rules:1: word \"!!!\" has no letters or digits" },
    { "rule x words * score 1\n",
      "x.rules:1: word \"*\" has no letters or digits" },
    { "rule x\n    words a,\nrule y words b score 1\n",
      "x.rules:2: the \"words\" list ends with \",\" (to continue it, indent "
      "the next line)" },
    { "rule x words , a score 1\n",
      "x.rules:1: unexpected \",\" after \"words\"" },
    { "rule x words a,,b score 1\n",
      "x.rules:1: unexpected \",\" after \"words\"" },

    /* tokens and text */
    { "rule x\n    regex \"abc\n    score 1\n",
      "x.rules:2: unterminated quote: a \"...\" value must end on the same "
      "line" },
    { "rule x regex 'abc score 1\n",
      "x.rules:1: unterminated quote: a '...' value must end on the same "
      "line" },
    { "rule x regex \"a\\\\\" score 1\n",
      "x.rules:1: unterminated quote: a \"...\" value must end on the same "
      "line" },
    { "rule x words \"a\"b score 1\n",
      "x.rules:1: a space or \",\" must follow the closing quote of \"a\"" },
    { "rule x words \xe2\x80\x9cslot gacor\xe2\x80\x9d score 1\n",
      "x.rules:1: curly quote \xe2\x80\x9c: use straight quotes \"...\" (a "
      "word processor may have changed them)" },
    { "# ok\nrule x words caf\xe9 score 1\n",
      "x.rules:2: not valid UTF-8 (save the file as UTF-8)" },
    { "rule x words \xed\xa0\x80 score 1\n",
      "x.rules:1: not valid UTF-8 (save the file as UTF-8)" },
    { "rule x words \xc0\xaf score 1\n",
      "x.rules:1: not valid UTF-8 (save the file as UTF-8)" },

    /* thresholds, settings, include */
    { "threshold queue 8\nthreshold reject 8\n",
      "x.rules:2: threshold reject 8 must be greater than threshold queue "
      "8" },
    { "threshold reject 8\nthreshold queue 9\n",
      "x.rules:2: threshold queue 9 must be less than threshold reject 8" },
    { "threshold queue 12\n",
      "x.rules:1: threshold queue 12 must be less than threshold reject 10 "
      "(the default)" },
    { "threshold reject 4\n",
      "x.rules:1: threshold reject 4 must be greater than threshold queue "
      "5" },
    { "threshold warn 3\n",
      "x.rules:1: unknown threshold \"warn\" (thresholds are: queue, "
      "reject)" },
    { "threshold queue 0\n",
      "x.rules:1: \"threshold queue\" must be between 1 and 100000, got "
      "0" },
    { "threshold queue\n",
      "x.rules:1: \"queue\" needs a value" },
    { "threshold reject x\n",
      "x.rules:1: \"threshold reject\" needs a whole number, got \"x\"" },
    { "threshold queue 3 4\n",
      "x.rules:1: unexpected \"4\" after \"threshold\" (a value with spaces "
      "goes in quotes)" },
    { "set regex-eror queue\n",
      "x.rules:1: unknown setting \"regex-eror\" (did you mean "
      "\"regex-error\"?)" },
    { "set regex-error drop\n",
      "x.rules:1: unknown regex-error value \"drop\" (regex-error values "
      "are: queue, ignore)" },
    { "include\n",
      "x.rules:1: \"include\" needs a value" },
    { "include \"\"\n",
      "x.rules:1: empty file name" },
    { "include a.rules b.rules\n",
      "x.rules:1: unexpected \"b.rules\" after \"include\" (a value with "
      "spaces goes in quotes)" },
    { "include x.rules\n",
      "x.rules:1: include cycle: x.rules -> x.rules" },
    { "\ninclude nope.rules\n",
      "x.rules:2: cannot include \"nope.rules\": No such file or directory" },
    { "rule x\n    words-file brands.txt\n    score 1\n",
      "x.rules:2: cannot read words-file \"brands.txt\": No such file or "
      "directory" },
};


static void
test_errors_in_one_file(void **state)
{
    (void) state;

    expect_errors(cm_error_cases,
                  sizeof(cm_error_cases) / sizeof(cm_error_cases[0]));
}


/* --- errors across files -------------------------------------------------- */

static void
test_error_nul_byte(void **state)
{
    (void) state;

    put_bytes("x.rules", "rule x words a score 1\nrule y\0", 30);
    expect_error("x.rules",
                 "x.rules:2: holds a NUL byte (is it a text file?)");
}


static void
test_error_duplicate_across_files(void **state)
{
    (void) state;

    put("main.rules", "include id-judol.rules\ninclude more/x.rules\n");
    put("id-judol.rules",
        "# judol\n\n\n\n\n\n\n\n\n"
        "rule judol-vocab words gacor score 6\n");
    put("more/x.rules", "\n\nrule judol-vocab words maxwin score 6\n");

    expect_error("main.rules",
                 "more/x.rules:3: duplicate rule name \"judol-vocab\" (first "
                 "defined at id-judol.rules:10)");
}


static void
test_error_include_cycle(void **state)
{
    (void) state;

    put("a.rules", "include sub/b.rules\n");
    put("sub/b.rules", "# b\ninclude ../c.rules\n");
    put("c.rules", "\n\ninclude a.rules\n");

    expect_error("a.rules",
                 "c.rules:3: include cycle: a.rules -> sub/b.rules -> c.rules "
                 "-> a.rules");

    /* a directory that holds the including file */
    put("d/one.rules", "include .\n");
    expect_error("d",
                 "d/one.rules:1: include cycle: d/one.rules -> d/one.rules");
}


static void
test_error_missing_files(void **state)
{
    (void) state;

    expect_error("nope.rules",
                 "nope.rules: cannot read: No such file or directory");

    put("sub/y.rules", "rule y words a score 1\ninclude ../missing.rules\n");
    expect_error("sub/y.rules",
                 "sub/y.rules:2: cannot include \"missing.rules\": No such "
                 "file or directory");

    mkdir("empty", 0755);
    expect_error("empty", "empty: no *.rules files in this directory");

    put("x.rules", "include empty\n");
    expect_error("x.rules",
                 "x.rules:1: no *.rules files in directory \"empty\"");
}


static void
test_error_in_words_file(void **state)
{
    (void) state;

    put("x.rules", "rule x\n    words-file lists/w.txt\n    score 1\n");

    put("lists/w.txt", "gacor\n\n\"a\", b\n");
    expect_error("x.rules",
                 "lists/w.txt:3: a words-file holds one word or phrase a line "
                 "(no commas; quotes around the whole line only)");

    put("lists/w.txt", "gacor\n!!\n");
    expect_error("x.rules", "lists/w.txt:2: word \"!!\" has no letters or "
                            "digits");

    put("lists/w.txt", "gacor\n\"maxwin\n");
    expect_error("x.rules", "lists/w.txt:2: unterminated quote: a \"...\" "
                            "value must end on the same line");

    put("lists/w.txt", "gacor\n\xff\n");
    expect_error("x.rules", "lists/w.txt:2: not valid UTF-8 (save the file "
                            "as UTF-8)");
}


static void
test_error_threshold_across_files(void **state)
{
    (void) state;

    put("a.rules", "threshold reject 6\ninclude b.rules\n");
    put("b.rules", "\nthreshold queue 7\n");
    expect_error("a.rules",
                 "b.rules:2: threshold queue 7 must be less than threshold "
                 "reject 6");
}


static void
test_error_nesting_depth(void **state)
{
    int   i;
    char  name[32], text[64];

    (void) state;

    for (i = 0; i < 20; i++) {
        snprintf(name, sizeof(name), "n%d.rules", i);
        snprintf(text, sizeof(text), "include n%d.rules\n", i + 1);
        put(name, text);
    }

    expect_error("n0.rules",
                 "n15.rules:1: includes nested more than 16 deep");
}


static void
test_error_buffer_small(void **state)
{
    char         err[12];
    cm_rules_t  *rules;

    (void) state;

    put("x.rules", "rule x words a scor 3\n");

    memset(err, 'X', sizeof(err));
    rules = cm_rules_load(&cm_rules_source_files, "x.rules", err, 10);
    assert_null(rules);
    assert_string_equal(err, "x.rules:1");
    assert_int_equal(err[10], 'X');

    rules = cm_rules_load(&cm_rules_source_files, "x.rules", err, 1);
    assert_null(rules);
    assert_string_equal(err, "");

    assert_null(cm_rules_load(&cm_rules_source_files, "x.rules", NULL, 0));
}


/* --- a source in memory --------------------------------------------------- */

static const cm_test_pair_t  cm_mem_files[] = {
    { "bundle/main.rules",
      "threshold queue 6\ninclude id\nrule main words a score 1\n" },
    { "bundle/id/judol.rules",
      "rule judol words-file brands.txt score 5\n" },
    { "bundle/id/brands.txt", "sultan88\nhoki jitu\n" },
    { "bundle/id/abuse.rules", "rule abuse words anjing action queue\n" },
    { "bundle/loop.rules", "include loop.rules\n" },
    { NULL, NULL }
};


static unsigned  cm_mem_reads;


static char *
cm_mem_read(void *data, const char *name, size_t *len)
{
    char                 *copy;
    const cm_test_pair_t  *f;

    cm_mem_reads++;

    for (f = data; f->key != NULL; f++) {
        if (strcmp(f->key, name) == 0) {
            *len = strlen(f->value);
            copy = malloc(*len);
            if (copy != NULL) {
                memcpy(copy, f->value, *len);    /* not NUL-terminated */
            }

            return copy;
        }
    }

    return NULL;
}


/* names under "name/" ending in .rules, sorted by the table's order */
static char **
cm_mem_list_dir(void *data, const char *name)
{
    char                 **list;
    size_t                 n, len;
    const char            *base;
    const cm_test_pair_t   *f;

    len = strlen(name);
    list = calloc(8, sizeof(char *));
    n = 0;

    for (f = data; f->key != NULL && list != NULL; f++) {
        base = f->key + len + 1;

        if (strncmp(f->key, name, len) == 0 && f->key[len] == '/'
            && strchr(base, '/') == NULL
            && strstr(base, ".rules") != NULL)
        {
            list[n++] = strdup(base);
        }
    }

    if (list != NULL && n == 0) {
        free(list);
        return NULL;
    }

    /* "abuse" before "judol" */
    if (n == 2 && strcmp(list[0], list[1]) > 0) {
        base = list[0];
        list[0] = list[1];
        list[1] = (char *) base;
    }

    return list;
}


static void
test_memory_source(void **state)
{
    cm_rules_t         *rules;
    cm_rules_source_t   src;

    (void) state;

    src.read = cm_mem_read;
    src.list_dir = cm_mem_list_dir;
    src.data = (void *) cm_mem_files;

    rules = cm_rules_load(&src, "bundle/main.rules", cm_test_err,
                          sizeof(cm_test_err));
    if (rules == NULL) {
        fail_msg("%s", cm_test_err);
    }

    assert_int_equal(rules->queue_at, 6);
    assert_int_equal(rules->nrules, 3);
    assert_string_equal(rules->rules[0].name, "abuse");
    assert_string_equal(rules->rules[0].file, "bundle/id/abuse.rules");
    assert_string_equal(rules->rules[1].name, "judol");
    assert_int_equal(rules->rules[1].nwords, 2);
    assert_word(&rules->rules[1], 1, "hoki jitu", 0, 0,
                "bundle/id/brands.txt", 2);
    assert_string_equal(rules->rules[2].name, "main");
    assert_int_equal(rules->nfiles, 4);
    cm_rules_free(rules);

    rules = cm_rules_load(&src, "bundle/loop.rules", cm_test_err,
                          sizeof(cm_test_err));
    assert_null(rules);
    assert_string_equal(cm_test_err,
                        "bundle/loop.rules:1: include cycle: "
                        "bundle/loop.rules -> bundle/loop.rules");

    /* a source without directories; a read failing without errno */
    src.list_dir = NULL;
    rules = cm_rules_load(&src, "bundle/main.rules", cm_test_err,
                          sizeof(cm_test_err));
    assert_null(rules);
    assert_string_equal(cm_test_err,
                        "bundle/main.rules:2: cannot include \"bundle/id\": "
                        "No such file or directory");
}


/* promote: the rule's "shadow" key goes, nothing else; its line if alone */
static void
test_unshadow(void **state)
{
    int      rc;
    char    *out;
    size_t   i, len;

    static const struct {
        const char  *in, *name, *want;
    } cases[] = {
        { "rule a words x shadow score 3\n", "a",
          "rule a words x score 3\n" },
        { "rule b\n    words shadow, y\n    shadow   # trying it\n"
          "    score 3\nrule c words z shadow\n", "b",
          "rule b\n    words shadow, y\n    # trying it\n    score 3\n"
          "rule c words z shadow\n" },
        { "rule b words x shadow\nrule c words z\n    shadow\n", "c",
          "rule b words x shadow\nrule c words z\n" },
        { "rule d words shadow score 1 shadow note \"a shadow\"\n", "d",
          "rule d words shadow score 1 note \"a shadow\"\n" },
    };

    (void) state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rc = cm_rules_unshadow("x.rules", cases[i].in, strlen(cases[i].in),
                               cases[i].name, &out, &len, cm_test_err,
                               sizeof(cm_test_err));
        assert_int_equal(rc, 0);
        assert_string_equal(out, cases[i].want);
        assert_int_equal(len, strlen(cases[i].want));
        free(out);
    }

    rc = cm_rules_unshadow("x.rules", "rule a words x\n\nrule b words y\n",
                           31, "b", &out, &len, cm_test_err,
                           sizeof(cm_test_err));
    assert_int_equal(rc, -1);
    assert_string_equal(cm_test_err, "x.rules:3: rule b is not a shadow");

    rc = cm_rules_unshadow("x.rules", "rule a words x shadow\n", 22, "ab",
                           &out, &len, cm_test_err, sizeof(cm_test_err));
    assert_int_equal(rc, -1);
    assert_string_equal(cm_test_err, "x.rules: no rule \"ab\"");
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cm_tmp_test(test_one_line_rule),
        cm_tmp_test(test_multi_line_rule),
        cm_tmp_test(test_defaults_and_empty_files),
        cm_tmp_test(test_thresholds_and_settings),
        cm_tmp_test(test_all_keys),
        cm_tmp_test(test_quoting),
        cm_tmp_test(test_adjacent_quotes_are_rejected),
        cm_tmp_test(test_crlf_bom_tabs),
        cm_tmp_test(test_utf8_words),
        cm_tmp_test(test_list_continuations),
        cm_tmp_test(test_keywords_any_case),
        cm_tmp_test(test_acceptance_line),
        cm_tmp_test(test_include),
        cm_tmp_test(test_include_absolute),
        cm_tmp_test(test_directories),
        cm_tmp_test(test_words_file),
        cm_tmp_test(test_field_names),
        cm_tmp_test(test_errors_in_one_file),
        cm_tmp_test(test_error_nul_byte),
        cm_tmp_test(test_error_duplicate_across_files),
        cm_tmp_test(test_error_include_cycle),
        cm_tmp_test(test_error_missing_files),
        cm_tmp_test(test_error_in_words_file),
        cm_tmp_test(test_error_threshold_across_files),
        cm_tmp_test(test_error_nesting_depth),
        cm_tmp_test(test_error_buffer_small),
        cm_tmp_test(test_memory_source),
        cm_tmp_test(test_unshadow),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
