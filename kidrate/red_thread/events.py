"""What happens along the red thread that another room may want to hear of: a case handed to a
therapist, a handover sent back, safety signals raised by a child's answers, the assignment amended.

The red thread's own functions send these (blinker signals) inside the caller's transaction, and know
no listener: a room above connects at create_app (kidrate/notifications/ queues its e-mails in the
same transaction, so a notice exists exactly when the thing it is about does). Receivers get ids
and objects, and must not commit.
"""

from __future__ import annotations

from blinker import Namespace

_events = Namespace()

# sender: the Case; therapist=the User it is now assigned to.
case_assigned = _events.signal("case-assigned")
# sender: the Handover (not yet flushed); case=its Case, session=the Session it is added to.
handover_sent = _events.signal("handover-sent")
# sender: the Submission; case=its Case, signals=the SafetySignals stored, session=their Session.
signals_raised = _events.signal("signals-raised")
# sender: the ProblemAmendment (not yet flushed); problem=its Problem, by=the User who made it.
problem_amended = _events.signal("problem-amended")
