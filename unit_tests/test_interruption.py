"""source_chartmogul.interruption: how the connector and the DuckDB loader both take SIGINT and SIGTERM."""

import os
import signal
import threading
import time

import pytest

from source_chartmogul.interruption import Interruption


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_the_first_signal_raises_keyboard_interrupt_and_a_second_one_is_only_counted(signum):
    interruption = Interruption()
    with interruption.handling():
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signum)
            time.sleep(0.5)  # a moment for Python to run the handler, if it did not already
        os.kill(os.getpid(), signal.SIGINT)  # during the clean-up: nothing raised
        time.sleep(0.1)

        assert interruption.received == [signum, signal.SIGINT]
        with pytest.raises(KeyboardInterrupt):
            interruption.check()  # raised again at the next safe point


def test_handling_restores_the_handlers_it_found_and_forgets_an_earlier_run():
    interruption = Interruption()
    interruption.received = [signal.SIGTERM]
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)

    with interruption.handling():
        assert signal.getsignal(signal.SIGINT) is interruption and signal.getsignal(signal.SIGTERM) is interruption
        interruption.check()  # nothing received in this run

    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_outside_the_main_thread_handling_changes_nothing():
    interruption, seen = Interruption(), []

    def in_a_thread():
        with interruption.handling():
            seen.append((signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)))

    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join()

    assert seen == [before]


def test_a_signal_sent_while_deferred_arrives_when_the_step_is_done():
    interruption = Interruption()
    with interruption.handling():
        with pytest.raises(KeyboardInterrupt):
            with interruption.deferred():
                os.kill(os.getpid(), signal.SIGTERM)
                assert interruption.received == []  # held back: the step goes on whole
            time.sleep(0.5)
        assert interruption.received == [signal.SIGTERM]
