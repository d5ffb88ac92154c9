"""The read side: frozen values from the projections, in the same order on every peer."""

from storage.queries._acceptance import Verdict as Verdict
from storage.queries._acceptance import accepted_attempt as accepted_attempt
from storage.queries._chat import ChatMessage as ChatMessage
from storage.queries._chat import chat_log as chat_log
from storage.queries._chat import iter_chat_log as iter_chat_log
from storage.queries._curriculum import Check as Check
from storage.queries._curriculum import Feedback as Feedback
from storage.queries._curriculum import Problem as Problem
from storage.queries._curriculum import Progress as Progress
from storage.queries._curriculum import Submission as Submission
from storage.queries._curriculum import SubmissionDetail as SubmissionDetail
from storage.queries._curriculum import SubmissionRef as SubmissionRef
from storage.queries._curriculum import get_problem as get_problem
from storage.queries._curriculum import get_submission as get_submission
from storage.queries._curriculum import has_submitted as has_submitted
from storage.queries._curriculum import list_feedback as list_feedback
from storage.queries._curriculum import list_problems as list_problems
from storage.queries._curriculum import list_submissions as list_submissions
from storage.queries._curriculum import newest_revision as newest_revision
from storage.queries._curriculum import next_attempt as next_attempt
from storage.queries._curriculum import progress as progress
from storage.queries._curriculum import review_queue as review_queue
from storage.queries._curriculum import students as students
from storage.queries._curriculum import submission_ref as submission_ref
