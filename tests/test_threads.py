"""The training process picks its thread count by how fast its steps run: on a busy machine it
ends up with the count that trains fastest there, on a quiet one it keeps all the cores.

The tuner is fed step times as the worker measures them; here they come from a table of how
long a step takes at each thread count on the machine described (figures measured on 2 cores:
LeNet 10 ms a step quiet, 550 ms with 2 threads and 34 ms with 1 beside busy processes)."""

from studio.engine.threads import IdleCores, ThreadTuner


class Machine:
    """Step seconds by thread count; the tuner's thread changes are recorded."""

    def __init__(self, seconds: dict, idle=None):
        self.seconds = seconds
        self.threads = None
        self.changes: list[int] = []
        self.idle_cores = idle

    def apply(self, threads: int) -> None:
        if threads != self.threads:
            self.changes.append(threads)
        self.threads = threads

    def idle(self, own_threads: int):
        return self.idle_cores

    def train(self, tuner: ThreadTuner, seconds: float) -> float:
        """Train for ``seconds`` of step time; the share of it spent at the tuner's count."""
        spent = settled = 0.0
        while spent < seconds:
            step = self.seconds[self.threads]
            tuner.observe(step)
            spent += step
            settled += step if self.threads == tuner.threads else 0.0
        return settled / spent


def test_a_busy_machine_moves_to_the_count_that_trains_fastest_there():
    machine = Machine({1: 0.034, 2: 0.55, 4: 0.9})
    tuner = ThreadTuner(4, machine.apply, machine.idle)
    assert machine.changes == [4]  # nothing known: all the cores to start with
    machine.train(tuner, 10.0)
    assert tuner.threads == 1 and machine.threads == 1


def test_a_quiet_machine_keeps_all_its_cores_and_trials_grow_rare():
    machine = Machine({1: 0.030, 2: 0.016, 4: 0.010}, idle=4.0)
    tuner = ThreadTuner(4, machine.apply, machine.idle)
    share = machine.train(tuner, 300.0)
    assert tuner.threads == 4 and machine.threads == 4
    assert share > 0.99  # trying fewer threads costs under 1% of the training time
    assert tuner.trials < 15


def test_a_machine_that_gets_busy_is_followed_at_once_and_back_when_it_is_quiet_again():
    quiet, busy = {1: 0.020, 2: 0.011}, {1: 0.034, 2: 0.55}
    machine = Machine(dict(quiet), idle=2.0)
    tuner = ThreadTuner(2, machine.apply, machine.idle)
    machine.train(tuner, 200.0)  # trials are now a minute apart
    assert tuner.threads == 2
    machine.seconds, machine.idle_cores = dict(busy), 0.0
    machine.train(tuner, 3.0)  # the sudden slowdown is a reason to try fewer at once
    assert tuner.threads == 1
    machine.seconds, machine.idle_cores = dict(quiet), 1.0
    machine.train(tuner, 130.0)
    assert tuner.threads == 2


def test_more_threads_are_not_tried_while_no_core_is_idle():
    machine = Machine({1: 0.034, 2: 0.55}, idle=0.2)
    tuner = ThreadTuner(2, machine.apply, machine.idle)
    assert tuner.threads == 1  # the load average leaves no core free: start with one thread
    machine.train(tuner, 30.0)
    assert machine.changes == [1]


def test_one_core_means_one_thread_and_no_trials():
    machine = Machine({1: 0.01})
    tuner = ThreadTuner(1, machine.apply, machine.idle)
    machine.train(tuner, 5.0)
    assert machine.changes == [1] and tuner.trials == 0


def test_where_more_threads_are_a_little_faster_they_are_taken():
    """Started with one thread (the load average showed one core taken), a machine that
    turns out to train 3% faster with both cores gets both: fewer threads must be clearly
    faster to be kept, more only a little."""
    machine = Machine({1: 0.0103, 2: 0.010}, idle=1.0)
    tuner = ThreadTuner(2, machine.apply, machine.idle)
    assert tuner.threads == 1
    machine.train(tuner, 20.0)
    assert tuner.threads == 2
    machine.train(tuner, 300.0)
    assert tuner.threads == 2


def test_a_deterministic_project_keeps_a_fixed_thread_count():
    """Sums split over another number of threads differ in their last bits, so a project that
    asks for deterministic training is never re-tuned (runs and resumes give the same numbers)."""
    from studio.core import templates
    from studio.engine.runner import Runner
    from studio.engine.worker import runner_for

    project = templates.TEMPLATES["classifier"]()
    assert runner_for(project) is not Runner  # tuned by default
    project.training.settings["deterministic"] = True
    assert runner_for(project) is Runner


def test_idle_cores_count_what_others_use_now_not_this_process():
    """Two looks at the CPU counters one second apart on 2 cores: 2 core-seconds passed, 0.5 of
    them idle, 0.5 this process's own; the other 1.0 was other work, so one core is free."""
    looks = iter([(100.0, 60.0, 3.0, 10.0), (102.0, 60.5, 3.5, 11.0),
                  (104.0, 62.5, 3.5, 12.0)])
    idle = IdleCores(2, look=lambda: next(looks))
    assert idle(1) == 1.0
    assert idle(1) == 2.0  # the next second all of it idle: both free

