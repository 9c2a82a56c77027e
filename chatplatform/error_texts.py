"""The human texts of error frames, translated when a socket sends them (chatplatform/i18n.py localise_frame).

Error codes are contract and stay English; their ``detail`` is for a person. A detail written as a
literal at a ``ChatError`` is listed here (marked for makemessages) and sent in the reader's language;
tests/chatplatform/test_catalogues.py fails when one is missing. Details built with values (an f-string)
are sent as written, in English.
"""

from django.utils.translation import gettext, gettext_noop

ERROR_TEXTS = frozenset({
    gettext_noop('A display name is required.'),
    gettext_noop('A frame must be a JSON object.'),
    gettext_noop('A frame needs a string `type`.'),
    gettext_noop('Another expert has already taken this conversation.'),
    gettext_noop('Choose one of the listed languages.'),
    gettext_noop('Choose topics of your brands.'),
    gettext_noop('Frames must be text frames holding a JSON object.'),
    gettext_noop('Give a reason for the block (1 to 1000 characters).'),
    gettext_noop('Give an e-mail address first (contact.set).'),
    gettext_noop('No such alert.'),
    gettext_noop('No such conversation.'),
    gettext_noop('No such post.'),
    gettext_noop('No such visitor.'),
    gettext_noop('Push notifications are not configured on this server.'),
    gettext_noop('Start a conversation first.'),
    gettext_noop('The first frame must be `hello`.'),
    gettext_noop('The frame is not valid JSON.'),
    gettext_noop('The server could not check its limits just now; try again in a moment.'),
    gettext_noop('The server could not store this just now; send it again.'),
    gettext_noop('The visitor asked for another expert.'),
    gettext_noop('There is no conversation to take to another expert.'),
    gettext_noop('There is no ended conversation to rate.'),
    gettext_noop('There is no ended conversation to send.'),
    gettext_noop('This address unsubscribed from our e-mails; it gets none.'),
    gettext_noop('This client_id was already used in this conversation.'),
    gettext_noop('This conversation has already ended.'),
    gettext_noop('This conversation has ended.'),
    gettext_noop('This conversation is not assigned to you.'),
    gettext_noop('Too many chat windows are open at once; close one and try again.'),
    gettext_noop('Unknown topic.'),
    gettext_noop('You already have an open conversation.'),
    gettext_noop('You can no longer use this chat: an expert blocked you after a conversation.'),
    gettext_noop('You have no conversation.'),
    gettext_noop('You have no open conversation.'),
    gettext_noop('You may no longer moderate.'),
    gettext_noop('You signed out.'),
    gettext_noop('Your expert account is suspended.'),
    gettext_noop('Your password was changed: sign in again.'),
    gettext_noop('`hello` was already sent on this socket.'),
    gettext_noop("endpoint is not a push service's https address."),
    gettext_noop('endpoint is too long.'),
    gettext_noop('keys.p256dh is not a P-256 public key.'),
    # attachments/services.py (POST /attachments/; attachments/views.py translates them).
    gettext_noop("Pictures are sent from the brand's pages only."),
    gettext_noop('You cannot send pictures here at the moment.'),
    gettext_noop('Only community experts send pictures.'),
    gettext_noop('This conversation is not yours to send pictures to.'),
    # Topic routing, transfer, canned replies, community spaces, attachments (socket and pages).
    gettext_noop('Field `text`: Field required.'),
    gettext_noop('No such reply of yours.'),
    gettext_noop('NUL characters are not allowed.'),
    gettext_noop('A title is required.'),
    gettext_noop("The reply's text is required."),
    gettext_noop('No such community space.'),
    gettext_noop('Choose one of your community spaces.'),
    gettext_noop('This question is offered to the experts of its topic first.'),
    gettext_noop('No such expert of this brand.'),
    gettext_noop('This conversation is already yours.'),
    gettext_noop('No such attachment.'),
    gettext_noop('This attachment was already sent.'),
    gettext_noop('There is no expert to ask.'),
})


def localised(detail: str) -> str:
    """A ChatError's detail for a page or a JSON answer: in the active language when it is listed here, else as written."""
    return gettext(detail) if detail in ERROR_TEXTS else detail
