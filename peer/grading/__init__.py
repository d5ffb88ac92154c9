"""Grade submissions against an instructor's hidden tests, running the code in a sandbox.

A library (no CLI): callers run these blocking functions in a worker thread. Hidden tests
only ever run inside bubblewrap (``SandboxUnavailable`` otherwise); a student's own code may
run unsandboxed on their own computer for a self-check, when the caller says so.

This package owns the language table (``LANGUAGE_TABLE``: one module per language in
``peer.grading.languages``) and the :class:`Grader` the CLI and the web UI both grade with.
It depends on ``peer.log``, ``peer.errors``, ``peer.identity`` and ``storage``.
"""

from ._grade import CHECKER_LIMITS as CHECKER_LIMITS
from ._grade import CheckResult as CheckResult
from ._grade import GradeResult as GradeResult
from ._grade import grade_submission as grade_submission
from ._grade import outputs_match as outputs_match
from ._grade import self_check as self_check
from ._grader import CHOICES as CHOICES
from ._grader import Choice as Choice
from ._grader import Decision as Decision
from ._grader import Grader as Grader
from ._grader import Outcome as Outcome
from ._grader import graded_score as graded_score
from ._grader import latest_ids as latest_ids
from ._grader import latest_rubric as latest_rubric
from ._language import CompileStep as CompileStep
from ._language import LanguageSpec as LanguageSpec
from ._languages import COMPILE_LIMITS as COMPILE_LIMITS
from ._languages import LANGUAGES as LANGUAGES
from ._languages import CompileError as CompileError
from ._languages import Program as Program
from ._languages import prepare_program as prepare_program
from ._languages import run_program as run_program
from ._sandbox import DEFAULT_LIMITS as DEFAULT_LIMITS
from ._sandbox import ENV_SANDBOX as ENV_SANDBOX
from ._sandbox import Limits as Limits
from ._sandbox import RunResult as RunResult
from ._sandbox import RunStatus as RunStatus
from ._sandbox import SandboxUnavailable as SandboxUnavailable
from ._sandbox import run_sandboxed as run_sandboxed
from ._sandbox import run_unsandboxed as run_unsandboxed
from ._sandbox import sandbox_available as sandbox_available
from ._sandbox import sandbox_python as sandbox_python
from ._testdir import MAX_TEST_FILE_BYTES as MAX_TEST_FILE_BYTES
from ._testdir import TEST_FOLDER_FORMAT as TEST_FOLDER_FORMAT
from ._testdir import TestCase as TestCase
from ._testdir import TestSuite as TestSuite
from ._testdir import load_test_folder as load_test_folder
from ._visibility import FAILED as FAILED
from ._visibility import TestOutcome as TestOutcome
from ._visibility import student_comment as student_comment
from ._visibility import student_score as student_score
from ._visibility import student_view as student_view
from .languages import LANGUAGE_TABLE as LANGUAGE_TABLE
from .languages import language_named as language_named
from .languages import language_of_file as language_of_file
