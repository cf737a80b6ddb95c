"""The progress line: live on a terminal, whole throttled lines in a CI log, with a time estimate."""

from __future__ import annotations

from clipsafety.invert.loop import Progress
from clipsafety.run.progress import ProgressLine, format_duration


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def feed(line, clock, batches=2, steps=100, seconds_per_step=1.0, label="inverting 16 images (100 steps)"):
    for batch in range(batches):
        for step in range(1, steps + 1):
            clock.now += seconds_per_step
            line.update(Progress(step=step, steps=steps, batch=batch, batches=batches,
                                 images_done=8 * batch, images_total=8 * batches), label)


def test_log_mode_writes_whole_lines_at_most_every_30_seconds_and_at_batch_ends():
    out, clock = [], FakeClock()
    line = ProgressLine(out.append, isatty=False, clock=clock)
    feed(line, clock)  # 200 s of work
    assert all(text.endswith("\n") and "\r" not in text for text in out)
    # at most one line per 30 s plus one per batch end (not one per step)
    assert 6 <= len(out) <= 200 / 30 + 2 + 1, out
    assert "batch 2/2, step 100/100 (100%)" in out[-1] and "3m19s elapsed" in out[-1]  # from the first report


def test_tty_mode_rewrites_one_line_and_ends_it_on_finish():
    out, clock = [], FakeClock()
    line = ProgressLine(out.append, isatty=True, clock=clock)
    feed(line, clock, seconds_per_step=0.1)  # 20 s: about 40 rewrites at 0.5 s, not 200
    assert all(text.startswith("\r") and "\n" not in text for text in out)
    assert 30 <= len(out) <= 45, len(out)
    line.finish()
    assert out[-1] == "\n"
    line.finish()
    assert out[-1] == "\n" and out[-2] != "\n"  # a second finish writes nothing more


def test_estimate_of_time_left_follows_the_rate_so_far():
    out, clock = [], FakeClock()
    line = ProgressLine(out.append, isatty=False, clock=clock)
    feed(line, clock, batches=1, steps=100, seconds_per_step=2.0)
    estimates = [t for t in out if "left" in t]
    assert len(estimates) >= 2
    for text in estimates:  # 2 s per step: the estimate is 2 s per step still to go
        done = int(text.split("step ")[1].split("/")[0])
        assert f"about {format_duration(2.0 * (100 - done))} left" in text, text
    assert "left" not in out[-1]  # finished work has nothing left


def test_new_work_restarts_the_clock():
    out, clock = [], FakeClock()
    line = ProgressLine(out.append, isatty=False, clock=clock)
    feed(line, clock, batches=1, steps=50, seconds_per_step=1.0)
    assert "49s elapsed" in out[-1]
    feed(line, clock, batches=1, steps=50, seconds_per_step=1.0)  # same label, starting over
    assert "49s elapsed" in out[-1], out[-1]


def test_format_duration():
    assert [format_duration(s) for s in (4.4, 59.6, 61, 3599, 3661)] == ["4s", "1m00s", "1m01s", "59m59s", "1h01m"]
