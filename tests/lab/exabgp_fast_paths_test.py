#!/usr/bin/python3
"""agent/exabgp/raftbgp-exabgp's fast paths against Debian's real ExaBGP functions (issue 13).

Each fast path must return exactly what ExaBGP's stock function returns, raise what it raises, and hand
input it does not recognise to the stock function. The tests keep the stock functions, install the fast
paths, and compare both on real raftbgp commands and on random input built from the characters that
matter to ExaBGP's tokeniser. A last test parses a real announce command through ExaBGP's configuration
parser before and after the install and compares the routes it produced.
"""

import os
import random
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from launcher_module import load_launcher  # noqa: E402

try:
    import exabgp.bgp.message.update.attribute.generic as generic
    import exabgp.configuration.core.format as fmt
    import exabgp.configuration.core.tokeniser as tok
    import exabgp.configuration.static.parser as parser
    import exabgp.util as util
except ImportError:
    print("Debian's exabgp is not installed")
    sys.exit(77)

STOCK_TOKENS = fmt.tokens
STOCK_ATTRIBUTE = parser.attribute
STOCK_REPR = generic.GenericAttribute.__repr__
STOCK_HEXSTRING = util.hexstring


launcher = load_launcher()


def outcome(function, *args):
    """What a call returned, or the type and text of what it raised."""
    try:
        result = function(*args)
        if hasattr(result, "__next__"):
            result = list(result)
        return ("value", result)
    except Exception as e:  # noqa: BLE001 (the point is to compare whatever is raised)
        return ("raised", type(e).__name__, str(e))


def command(rng, nbytes):
    payload = bytes(rng.randrange(256) for _ in range(nbytes)).hex()
    return ("route 2001:db8:ffff::%x/128 next-hop self attribute [ 0xfe 0xc0 0x%s ] ;" %
            (rng.randrange(1 << 16), payload))


class TokensTest(unittest.TestCase):
    fast = staticmethod(launcher.fast_tokens(STOCK_TOKENS))

    def same(self, lines):
        self.assertEqual(outcome(self.fast, iter(lines)), outcome(STOCK_TOKENS, iter(lines)), repr(lines))

    def test_real_commands(self):
        rng = random.Random(1)
        for n in (0, 1, 40, 2900):
            self.same([command(rng, n)])
        self.same(["announce route 10.0.0.0/24 next-hop 192.0.2.1 community [ 65000:1 65000:2 ] ;"])
        self.same(["neighbor 192.0.2.1 { router-id 192.0.2.2; local-as 65001; }"])

    def test_what_the_stock_loop_drops_or_refuses(self):
        self.same(["route 10.0.0.0/8 next-hop self"])  # words and no end: invalid syntax
        self.same(["word"])  # a lone word without separator after it is dropped, no error
        self.same(["a b"])  # 'a' is kept, so the line is invalid
        self.same(["", " ", ";", ";;", "[", "a[b]c;", "x\ty\r\nz ;", "{ a } b"])

    def test_lines_with_quotes_comments_or_escapes_go_to_the_stock_tokeniser(self):
        self.same(['description "a b ; c" ;'])
        self.same(["a # comment ;"])
        self.same(["a\\tb ;", "c 'd e' ;"])

    def test_line_numbers_continue_across_lines(self):
        self.same(["a ;", "b 'c' ;", "d ;"])

    def test_random_lines(self):
        rng = random.Random(13)
        alphabet = "ab0x ,[];{}\t\r\n\"'#\\\u00e9\x0b"
        for _ in range(20000):
            lines = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(12)))
                     for _ in range(rng.randrange(1, 4))]
            self.same(lines)


class Words:
    """The tokeniser as ExaBGP's parsers call it: each call returns the next word, then ''."""

    def __init__(self, words):
        self.words = list(words)

    def __call__(self):
        return self.words.pop(0) if self.words else ""


def attribute_outcome(function, words):
    o = outcome(function, Words(words))
    if o[0] == "value":
        a = o[1]
        return ("value", type(a).__name__, a.ID, a.FLAG, a.data)
    return o


class AttributeTest(unittest.TestCase):
    fast = staticmethod(launcher.fast_attribute(STOCK_ATTRIBUTE, generic.GenericAttribute))

    def same(self, words):
        self.assertEqual(attribute_outcome(self.fast, words), attribute_outcome(STOCK_ATTRIBUTE, words), words)

    def test_real_attributes(self):
        rng = random.Random(2)
        for n in (1, 2, 255, 256, 2900, 4000):
            self.same(["[", "0xfe", "0xc0", "0x" + bytes(rng.randrange(256) for _ in range(n)).hex(), "]"])
        self.same(["[", "0xFE", "0xC0", "0xDEADbeef", "]"])

    def test_malformed_attributes_fail_as_before(self):
        for words in (["[", "0xfe", "0xc0", "0x", "]"],       # empty data is the stock parser's business
                      ["[", "0xfe", "0xc0", "0xabc", "]"],    # odd length
                      ["[", "0xfe", "0xc0", "0xzz", "]"],     # not hex
                      ["[", "0xfe", "0xc0", "0x+1", "]"],     # int() takes it, fromhex would not
                      ["[", "0xfe", "0xc0", "abcd", "]"],     # no 0x
                      ["[", "0xfe", "0xc0", "0xabcd", "x"],   # no closing bracket
                      ["[", "0xfe", "0xc0", "0xabcd"],        # ends early
                      ["(", "0xfe", "0xc0", "0xabcd", "]"],
                      ["[", "fe", "0xc0", "0xabcd", "]"],
                      ["[", "0xfe", "c0", "0xabcd", "]"],
                      ["[", "0xfe", "0xc0", "0x0g", "]"]):
            self.same(words)

    def test_random_data_words(self):
        rng = random.Random(3)
        for _ in range(5000):
            data = "".join(rng.choice("0x1aFg+ ") for _ in range(rng.randrange(8)))
            self.same(["[", "0x%02x" % rng.randrange(256), "0xc0", data, "]"])


class HexTest(unittest.TestCase):
    def test_generic_attribute_text_and_json_are_unchanged(self):
        fast_repr = launcher.fast_generic_repr(STOCK_REPR)
        fast_hex = launcher.fast_hexstring(STOCK_HEXSTRING)
        rng = random.Random(4)
        for n in (0, 1, 17, 2900):
            data = bytes(rng.randrange(256) for _ in range(n))
            a = generic.GenericAttribute(0xFE, 0xC0, data)
            self.assertEqual(fast_repr(a), STOCK_REPR(a))
            self.assertEqual(fast_hex(data), STOCK_HEXSTRING(data))
        self.assertEqual(fast_hex("ab\x01"), STOCK_HEXSTRING("ab\x01"), "text goes to the stock function")


class InstallTest(unittest.TestCase):
    def routes(self, line):
        from exabgp.configuration.configuration import Configuration
        from exabgp.configuration.setup import environment
        from exabgp.reactor.api import API

        environment.setup("/dev/null")
        api = API(Configuration([]))
        return [(str(change), change.extensive(), change.attributes.index()) for change in api.api_route(line)]

    def test_an_announce_command_gives_the_same_route_before_and_after_install(self):
        rng = random.Random(5)
        line = "announce " + command(rng, 2900)[:-2]
        before = self.routes(line)
        self.assertEqual(len(before), 1, "the stock parser understood the command")
        replaced = launcher.install_fast_paths()
        self.assertGreaterEqual(replaced, 5, "tokeniser, every `known` table's attribute parser, hexstring")
        self.assertIsNot(tok.tokens, STOCK_TOKENS)
        self.assertEqual(self.routes(line), before)
        self.assertEqual(launcher.install_fast_paths(), 0, "installing twice changes nothing")


if __name__ == "__main__":
    unittest.main()
