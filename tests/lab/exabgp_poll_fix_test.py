#!/usr/bin/python3
"""agent/exabgp/raftbgp-exabgp against Debian's real ExaBGP reactor (issue 18, nemesis seed 21).

After a BGP session reset, ExaBGP 4.2.21 leaves the closed socket's descriptor in its poll set. Every
turn of the reactor loop then sees POLLNVAL and calls spin prevention, which sleeps speed/100 s per turn.
These tests drive ExaBGP's own Reactor._wait_for_io, first with the stock poll object to show the defect,
then through the launcher's install() to show the fix. They count calls to spin prevention instead of
timing sleeps.
"""

import os
import select
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from launcher_module import LAUNCHER, load_launcher  # noqa: E402


launcher = load_launcher()


def closed_fd():
    r, w = os.pipe()
    os.close(w)
    os.close(r)
    return r


def bare_reactor(loop, poller, speed=5.0):
    """ExaBGP's Reactor with only what _wait_for_io and _prevent_spin use, spin prevention counted."""
    reactor = object.__new__(loop.Reactor)
    reactor._poller = poller
    reactor._busyspin = {}
    reactor.max_loop_time = speed
    reactor._sleep_time = 0  # the count is what matters, not the sleep
    reactor.spins = 0
    original = reactor._prevent_spin

    def counted():
        reactor.spins += 1
        return original()

    reactor._prevent_spin = counted
    return reactor


class ForgetfulPollTest(unittest.TestCase):
    def test_a_closed_descriptor_is_forgotten_not_reported(self):
        p = launcher.ForgetfulPoll()
        fd = closed_fd()
        p.register(fd, select.POLLIN)
        self.assertEqual(p.poll(0), [])
        self.assertEqual(p.forgotten, 1)
        self.assertEqual(p.poll(0), [])
        self.assertEqual(p.forgotten, 1, "forgotten once, then no longer polled")
        p.unregister(fd)  # ExaBGP unregisters its old API pipes itself: must not raise

    def test_live_descriptors_still_report(self):
        p = launcher.ForgetfulPoll()
        r, w = os.pipe()
        try:
            p.register(r, select.POLLIN)
            self.assertEqual(p.poll(0), [])
            os.write(w, b"x")
            self.assertEqual(p.poll(0), [(r, select.POLLIN)])
            os.close(w)
            self.assertTrue(p.poll(0)[0][1] & select.POLLHUP, "a hang-up is still ExaBGP's to see")
            self.assertEqual(p.forgotten, 0)
        finally:
            os.close(r)

    def test_unknown_descriptor_unregister_is_quiet_and_register_again_works(self):
        p = launcher.ForgetfulPoll()
        p.unregister(12345)
        r, w = os.pipe()
        try:
            p.register(r, select.POLLIN)
            p.modify(r, select.POLLIN | select.POLLPRI)
            os.write(w, b"x")
            self.assertEqual([fd for fd, _ in p.poll(0)], [r])
        finally:
            os.close(r)
            os.close(w)


class ExabgpReactorTest(unittest.TestCase):
    def setUp(self):
        try:
            import exabgp.reactor.loop as loop
        except ImportError:
            self.skipTest("Debian's exabgp is not installed")
        self.loop = loop
        self.stock_select = loop.select

    def tearDown(self):
        self.loop.select = self.stock_select

    def turns(self, reactor, n=20):
        for _ in range(n):
            list(reactor._wait_for_io(0))

    def test_stock_reactor_spins_on_a_stale_descriptor(self):
        # The defect itself, so this test notices if an ExaBGP upgrade fixes it (then the launcher can go).
        poller = select.poll()
        poller.register(closed_fd(), select.POLLIN)
        reactor = bare_reactor(self.loop, poller)
        self.turns(reactor)
        self.assertEqual(reactor.spins, 20, "every turn sees POLLNVAL and calls spin prevention")

    def test_launcher_install_stops_the_spin(self):
        loop = launcher.install()
        self.assertIs(loop, self.loop)
        poller = loop.select.poll()
        self.assertIsInstance(poller, launcher.ForgetfulPoll)
        self.assertEqual(loop.select.POLLIN, select.POLLIN, "the constants ExaBGP uses are unchanged")
        r, w = os.pipe()  # first, so that the stale number below is not reused by it
        poller.register(closed_fd(), select.POLLIN)
        try:
            poller.register(r, select.POLLIN)
            os.write(w, b"x")
            reactor = bare_reactor(loop, poller)
            ready = list(reactor._wait_for_io(0))
            self.assertEqual(ready, [r], "live input is still handed to the reactor")
            self.turns(reactor)
            self.assertEqual(reactor.spins, 0)
            self.assertEqual(poller.forgotten, 1)
        finally:
            os.close(r)
            os.close(w)

    def test_launcher_runs_the_real_exabgp(self):
        import subprocess

        out = subprocess.run([sys.executable, LAUNCHER, "--version"], capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("ExaBGP : 4.2", out.stdout)


if __name__ == "__main__":
    unittest.main()
