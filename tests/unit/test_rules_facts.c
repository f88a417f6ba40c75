/*
 * The rule-file parser on what Redis knows: "when" conditions, "limit"s and
 * "when-unknown", valid in all their forms and every error with its exact
 * "FILE:LINE: reason" (rules/README.md, "Reputation and flood rules").
 */

#include "cm_rules_test.h"


static const cm_test_pair_t  cm_facts_error_cases[] = {

    { "rule x when autor seen = 0 action queue\n",
      "x.rules:1: unknown ident \"autor\" (did you mean \"author\"?)" },
    { "rule x when user seen = 0 action queue\n",
      "x.rules:1: unknown ident \"user\" (idents are: author, ip, network)" },
    { "rule x when first-time text action queue\n",
      "x.rules:1: \"text\" has no counters: it is for limits only (limit "
      "text N/WINDOW)" },
    { "rule x when author sen = 0 action queue\n",
      "x.rules:1: unknown counter \"sen\" (did you mean \"seen\"?)" },
    { "rule x when author posts > 3 action queue\n",
      "x.rules:1: unknown counter \"posts\" (counters are: seen, accepted, "
      "queued, approved, rejected, rejected-24h, trusted, blocked)" },
    { "rule x when author seen => 0 action queue\n",
      "x.rules:1: unknown operator \"=>\" (operators are: <, <=, =, !=, >=, "
      ">)" },
    { "rule x when author seen==0 action queue\n",
      "x.rules:1: unknown operator \"==\" (operators are: <, <=, =, !=, >=, "
      ">)" },
    { "rule x when author seen is 0 action queue\n",
      "x.rules:1: unknown operator \"is\" (operators are: <, <=, =, !=, >=, "
      ">)" },
    { "rule x when author seen = many action queue\n",
      "x.rules:1: \"when\" needs a whole number, got \"many\"" },
    { "rule x when author seen >= -1 action queue\n",
      "x.rules:1: \"when\" must be between 0 and 1000000, got -1" },
    { "rule x action queue when\n    author\n    seen\n",
      "x.rules:3: incomplete \"when\" condition: write IDENT COUNTER OP "
      "NUMBER, as in author seen = 0, or first-time IDENT" },
    { "rule x action queue when author seen <, ip seen = 1\n",
      "x.rules:1: incomplete \"when\" condition: write IDENT COUNTER OP "
      "NUMBER, as in author seen = 0, or first-time IDENT" },
    { "rule x when author seen = 0= action queue\n",
      "x.rules:1: unexpected \"=\" after the \"when\" condition (conditions "
      "are separated by commas)" },
    { "rule x when first-time author first-time ip action queue\n",
      "x.rules:1: unknown key \"first-time\" (keys are: words, words-file, "
      "regex, fields, view, score, action, min-count, note, shadow, expires, when, "
      "limit, when-unknown)" },
    { "rule x when \"author seen = 0\" action queue\n",
      "x.rules:1: a \"when\" condition is written without quotes: write "
      "IDENT COUNTER OP NUMBER, as in author seen = 0, or first-time IDENT" },
    { "rule x\n    when ip rejected-24h >= 2\n    action reject\n",
      "x.rules:2: \"rejected-24h\" is kept for author and network only, not "
      "ip" },
    { "rule x words y expires 2026-02-30T25:00\n",
      "x.rules:1: bad \"expires\" date \"2026-02-30T25:00\" (write it as "
      "2026-12-31 or 2026-12-31T18:00, UTC)" },
    { "threshold queue 3 for artikel 5\n",
      "x.rules:1: \"for\" takes article ids or sections, as in threshold "
      "queue 3 for article 101, 102 or threshold queue 3 for section pemilu" },
    { "threshold reject 2 for section pemilu\n",
      "x.rules:1: for section pemilu, threshold queue 5 must be less than "
      "threshold reject 2" },
    { "threshold queue 3 for section pemilu,\n",
      "x.rules:1: the \"section\" list ends with \",\" (to continue it, "
      "indent the next line)" },
    { "threshold queue 12 for article 7, 8\n",
      "x.rules:1: for article 7, threshold queue 12 must be less than "
      "threshold reject 10" },
    { "threshold queue 3 for article 7,\n",
      "x.rules:1: the \"article\" list ends with \",\" (to continue it, "
      "indent the next line)" },
    { "rule x words y expires tomorrow\n",
      "x.rules:1: bad \"expires\" date \"tomorrow\" (write it as "
      "2026-12-31 or 2026-12-31T18:00, UTC)" },
    { "rule x when ip blocked = 1 action reject\n",
      "x.rules:1: \"blocked\" is kept for author and network only, not ip" },
    { "rule x when network trusted = 1 score -5\n",
      "x.rules:1: \"trusted\" is kept for author only" },
    { "rule x limit author action queue\n",
      "x.rules:1: \"limit author\" needs N/WINDOW, as in limit author "
      "10/60s" },
    { "rule x action queue limit ip\n",
      "x.rules:1: \"limit ip\" needs N/WINDOW, as in limit ip 10/60s" },
    { "rule x limit user 10/60s action queue\n",
      "x.rules:1: unknown ident \"user\" (idents are: author, ip, network, "
      "text)" },
    { "rule x limit author 0/60s action queue\n",
      "x.rules:1: \"limit\" must be between 1 and 100000, got 0" },
    { "rule x limit author ten/60s action queue\n",
      "x.rules:1: \"limit\" needs a whole number, got \"ten\"" },
    { "rule x limit author 10/60x action queue\n",
      "x.rules:1: bad limit window \"60x\" (write it as 60s, 10m, 1h or "
      "1d)" },
    { "rule x limit author 10/60 action queue\n",
      "x.rules:1: bad limit window \"60\" (write it as 60s, 10m, 1h or "
      "1d)" },
    { "rule x limit author 10/0s action queue\n",
      "x.rules:1: bad limit window \"0s\" (write it as 60s, 10m, 1h or "
      "1d)" },
    { "rule x limit text 4/2d action reject\n",
      "x.rules:1: limit window \"2d\" is longer than a day (1d)" },
    { "rule x limit text 4/99999999999999999999s action reject\n",
      "x.rules:1: limit window \"99999999999999999999s\" is longer than a "
      "day (1d)" },
    { "rule x\n    limit author 10/60s\n    limit ip 5/60s\n"
      "    action queue\n",
      "x.rules:3: \"limit\" is given twice in rule \"x\" (first at line 2)" },
    { "rule x words a when-unknown match score 1\n",
      "x.rules:1: rule \"x\": \"when-unknown\" goes with \"when\" or "
      "\"limit\"" },
    { "rule x when first-time author when-unknown maybe action queue\n",
      "x.rules:1: unknown when-unknown value \"maybe\" (when-unknown values "
      "are: skip, match)" },
    { "rule x\n    when first-time author\n",
      "x.rules:1: rule \"x\" has neither \"score\" nor \"action\" (add "
      "score N or action reject|queue|accept)" },
    { "rule x\n    when first-time author\n    view raw\n    action queue\n",
      "x.rules:3: rule \"x\": \"view\" is for rules with words or regex" },
    { "rule x limit ip 5/1h min-count 2 action queue\n",
      "x.rules:1: rule \"x\": \"min-count\" is for rules with words or "
      "regex" },

};


static void
test_reputation_keys(void **state)
{
    cm_rules_t            *rules;
    const cm_rule_def_t   *r;
    const cm_condition_t  *c;

    (void) state;

    rules = load_text(
        "rule first-time-link\n"
        "    regex \"https?://|www\\.\"\n"
        "    when  first-time author\n"
        "    when-unknown match\n"
        "    action queue\n"
        "rule trusted when author approved >= 3, author rejected=0 "
        "action accept\n"
        "rule noisy-network\n"
        "    when network rejected-24h>=2, ip seen <5,\n"
        "         network queued!= 1, ip accepted<= 7\n"
        "    when author seen > 0, first-time IP\n"
        "    score 4\n"
        "rule flood LIMIT author 10/60s action queue when-unknown skip\n"
        "rule swarm limit text 4/10m action reject\n"
        "rule ip-hour words togel limit ip 100/1h when first-time network "
        "score 3\n"
        "rule network-day limit network 1000/1d action queue\n");
    assert_int_equal(rules->nrules, 7);

    r = rule(rules, "first-time-link");
    assert_int_equal(r->kind, CM_RULE_REGEX);
    assert_int_equal(r->nconditions, 1);
    assert_int_equal(r->conditions[0].ident, CM_IDENT_AUTHOR);
    assert_int_equal(r->conditions[0].count, CM_COUNT_SEEN);
    assert_int_equal(r->conditions[0].op, CM_OP_EQ);
    assert_int_equal(r->conditions[0].value, 0);
    assert_int_equal(r->limit_max, 0);
    assert_int_equal(r->unknown_match, 1);
    assert_true(cm_rule_has_facts(r));

    /* nothing but facts: nothing to look at */
    r = rule(rules, "trusted");
    assert_int_equal(r->kind, CM_RULE_FACTS);
    assert_int_equal(r->fields, 0);
    assert_int_equal(r->views, 0);
    assert_int_equal(r->unknown_match, 0);
    assert_int_equal(r->action, CM_ACTION_ACCEPT);
    assert_int_equal(r->nconditions, 2);
    assert_int_equal(r->conditions[0].count, CM_COUNT_APPROVED);
    assert_int_equal(r->conditions[0].op, CM_OP_GE);
    assert_int_equal(r->conditions[0].value, 3);
    assert_int_equal(r->conditions[1].count, CM_COUNT_REJECTED);
    assert_int_equal(r->conditions[1].op, CM_OP_EQ);

    /* "when" given twice adds up; every operator, with or without spaces */
    r = rule(rules, "noisy-network");
    assert_int_equal(r->nconditions, 6);
    c = r->conditions;
    assert_int_equal(c[0].ident, CM_IDENT_NETWORK);
    assert_int_equal(c[0].count, CM_COUNT_REJECTED_24H);
    assert_int_equal(c[0].op, CM_OP_GE);
    assert_int_equal(c[0].value, 2);
    assert_int_equal(c[1].ident, CM_IDENT_IP);
    assert_int_equal(c[1].op, CM_OP_LT);
    assert_int_equal(c[1].value, 5);
    assert_int_equal(c[2].count, CM_COUNT_QUEUED);
    assert_int_equal(c[2].op, CM_OP_NE);
    assert_int_equal(c[3].count, CM_COUNT_ACCEPTED);
    assert_int_equal(c[3].op, CM_OP_LE);
    assert_int_equal(c[3].value, 7);
    assert_int_equal(c[4].op, CM_OP_GT);
    assert_int_equal(c[5].ident, CM_IDENT_IP);
    assert_int_equal(c[5].op, CM_OP_EQ);
    assert_int_equal(r->score, 4);

    r = rule(rules, "flood");
    assert_int_equal(r->kind, CM_RULE_FACTS);
    assert_int_equal(r->nconditions, 0);
    assert_int_equal(r->limit_ident, CM_IDENT_AUTHOR);
    assert_int_equal(r->limit_max, 10);
    assert_int_equal(r->limit_ms, 60000);

    r = rule(rules, "swarm");
    assert_int_equal(r->limit_ident, CM_IDENT_TEXT);
    assert_int_equal(r->limit_max, 4);
    assert_int_equal(r->limit_ms, 600000);

    r = rule(rules, "ip-hour");
    assert_int_equal(r->kind, CM_RULE_WORDS);
    assert_int_equal(r->limit_ident, CM_IDENT_IP);
    assert_int_equal(r->limit_ms, 3600000);
    assert_int_equal(r->nconditions, 1);
    assert_int_equal(r->conditions[0].ident, CM_IDENT_NETWORK);

    r = rule(rules, "network-day");
    assert_int_equal(r->limit_ident, CM_IDENT_NETWORK);
    assert_int_equal(r->limit_ms, 86400000);
}


static void
test_reputation_names(void **state)
{
    (void) state;

    assert_int_equal(cm_ident_by_name("network", 7), CM_IDENT_NETWORK);
    assert_int_equal(cm_ident_by_name("TEXT", 4), CM_IDENT_TEXT);
    assert_int_equal(cm_ident_by_name("auth", 4), CM_IDENT_N);
    assert_string_equal(cm_ident_name(CM_IDENT_IP), "ip");
    assert_null(cm_ident_name(CM_IDENT_N));

    assert_int_equal(cm_count_by_name("rejected-24h", 12),
                     CM_COUNT_REJECTED_24H);
    assert_int_equal(cm_count_by_name("rejected-24h", 8), CM_COUNT_REJECTED);
    assert_int_equal(cm_count_by_name("seenx", 5), CM_COUNT_N);
    assert_string_equal(cm_count_name(CM_COUNT_APPROVED), "approved");
    assert_string_equal(cm_op_name(CM_OP_NE), "!=");
    assert_string_equal(cm_op_name(CM_OP_GE), ">=");

    assert_int_equal(cm_window_ms("60s", 3), 60000);
    assert_int_equal(cm_window_ms("10m", 3), 600000);
    assert_int_equal(cm_window_ms("24h", 3), 86400000);
    assert_int_equal(cm_window_ms("1d", 2), 86400000);
    assert_int_equal(cm_window_ms("1dx", 2), 86400000);
    assert_int_equal(cm_window_ms("86401s", 6), 0);
    assert_int_equal(cm_window_ms("60", 2), 0);
    assert_int_equal(cm_window_ms("s", 1), 0);
    assert_int_equal(cm_window_ms("1w", 2), 0);
    assert_int_equal(cm_window_ms("", 0), 0);
}


static void
test_reputation_errors(void **state)
{
    (void) state;

    expect_errors(cm_facts_error_cases, sizeof(cm_facts_error_cases)
                                        / sizeof(cm_facts_error_cases[0]));
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cm_tmp_test(test_reputation_keys),
        cm_tmp_test(test_reputation_names),
        cm_tmp_test(test_reputation_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
