"""The course's lessons are data: every shipped lesson reads, opens a project that is ready to
train, names only views that exist, and a broken lesson file is refused naming file and line."""

from __future__ import annotations

import pytest

from studio.core.fileformat import load
from studio.core.inference import analyze
from studio.core.lessons import LessonError, lessons, read_lesson

SHIPPED = lessons()


def test_the_course_has_its_lessons_in_order():
    ids = [lesson.id for lesson in SHIPPED]
    assert ids[:3] == ["locality", "conv-costs", "lenet"]
    assert {"resnet", "siren", "gan", "vae", "cvae"} <= set(ids)
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("lesson", SHIPPED, ids=[lesson.id for lesson in SHIPPED])
def test_every_lesson_opens_a_project_ready_to_train(lesson):
    project = load(lesson.project)
    analysis = analyze(project)
    assert not analysis.problems, analysis.problems
    assert lesson.title and "## What to try" in lesson.text
    # every node the text names in backticks exists in the project or one of its networks
    names = {node for graph in [project.training, *project.networks.values()]
             for node in graph.nodes}
    quoted = {word for word in lesson.text.split("`")[1::2] if word.isidentifier()}
    assert quoted - names <= {"groups", "default", "siren_first", "z", "Tanh", "ReLU"}, \
        quoted - names


def test_the_locality_lesson_counts_what_its_text_says():
    lesson = next(item for item in SHIPPED if item.id == "locality")
    rows = {row.node.id: row for row in analyze(load(lesson.project)).rows}
    assert rows["dense_layer"].params == 1024 * 6 * 28 * 28 + 6 * 28 * 28  # about 4.8 million
    assert rows["conv_layer"].params == 6 * 25 + 6 == 156
    assert rows["dense_layer"].output_shape == rows["flatten_maps"].output_shape == "4704"


@pytest.mark.parametrize("text, said", [
    ("title: A\n\nbody\n", "no project"),
    ("title: A\nproject: nowhere.studio\n\nbody\n", "nowhere.studio is not there"),
    ("title: A\nproject: ../lenet.studio\nauthor: me\n\nbody\n", "line 3"),
    ("title: A\ntitle: B\nproject: ../lenet.studio\n\nbody\n", "title is given twice"),
    ("title: A\nproject: ../lenet.studio\n\n\n", "no text"),
])
def test_a_broken_lesson_is_refused_naming_file_and_line(tmp_path, text, said):
    folder = tmp_path / "course"
    folder.mkdir()
    (tmp_path / "lenet.studio").write_text("{}")
    path = folder / "09-broken.md"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LessonError, match="09-broken.md") as err:
        read_lesson(path)
    assert said in str(err.value)
