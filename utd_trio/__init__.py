"""utd_trio: an SDK for the UTD-Stream signalling plane, for Trio and asyncio alike.

The same code runs under ``trio.run`` and ``asyncio.run`` (anyio underneath, Trio first-class).
Calls, presence and chat over one supervised WebSocket plus REST, with typed events, honest
connection state and a close that always returns. ``utd_trio.testing`` ships a local reference
engine to develop and test against.
"""

from ._domains._calls import Calls as Calls
from ._domains._channel import Channel as Channel
from ._domains._channel_auth import ChannelAuth as ChannelAuth
from ._domains._channels import Channels as Channels
from ._domains._chat import Chat as Chat
from ._domains._groups import Groups as Groups
from ._domains._media import Media as Media
from ._domains._presence import Presence as Presence
from ._errors import Banned as Banned
from ._errors import Conflict as Conflict
from ._errors import ConnectionFailed as ConnectionFailed
from ._errors import ErrorCode as ErrorCode
from ._errors import FeatureDisabled as FeatureDisabled
from ._errors import Forbidden as Forbidden
from ._errors import IdentityMintDisabled as IdentityMintDisabled
from ._errors import InvalidRequest as InvalidRequest
from ._errors import LimitExceeded as LimitExceeded
from ._errors import NotFound as NotFound
from ._errors import ProtocolError as ProtocolError
from ._errors import RateLimited as RateLimited
from ._errors import ServerError as ServerError
from ._errors import SessionClosed as SessionClosed
from ._errors import TimedOut as TimedOut
from ._errors import Unauthorized as Unauthorized
from ._errors import UTDStreamError as UTDStreamError
from ._events import CallAccepted as CallAccepted
from ._events import CallAnsweredElsewhere as CallAnsweredElsewhere
from ._events import CallCancelled as CallCancelled
from ._events import CallEnded as CallEnded
from ._events import CallIncoming as CallIncoming
from ._events import CallMissed as CallMissed
from ._events import CallRejected as CallRejected
from ._events import CallRinging as CallRinging
from ._events import CapabilitiesChanged as CapabilitiesChanged
from ._events import ChannelEvent as ChannelEvent
from ._events import ChannelMemberAdded as ChannelMemberAdded
from ._events import ChannelMemberRemoved as ChannelMemberRemoved
from ._events import ChannelResubscribed as ChannelResubscribed
from ._events import Connected as Connected
from ._events import Disconnected as Disconnected
from ._events import Event as Event
from ._events import GroupChanged as GroupChanged
from ._events import MessageReceived as MessageReceived
from ._events import PresenceChanged as PresenceChanged
from ._events import ReceiptReceived as ReceiptReceived
from ._events import RecoveryFinished as RecoveryFinished
from ._events import TypingChanged as TypingChanged
from ._models import Attachment as Attachment
from ._models import Call as Call
from ._models import CallAnswer as CallAnswer
from ._models import Capabilities as Capabilities
from ._models import ChatMessage as ChatMessage
from ._models import ConnectionState as ConnectionState
from ._models import Conversation as Conversation
from ._models import Group as Group
from ._models import GroupMember as GroupMember
from ._models import HistoryPage as HistoryPage
from ._models import PlanLimits as PlanLimits
from ._models import PresenceInfo as PresenceInfo
from ._models import Session as Session
from ._models import UploadTicket as UploadTicket
from ._open import open_signaling as open_signaling
from ._rest._api import UTDApi as UTDApi
from ._session._fanout import EndOfStream as EndOfStream
from ._session._fanout import EventStream as EventStream
from ._session._fanout import EventStreamStatistics as EventStreamStatistics
from ._session._fanout import Overflow as Overflow
from ._session._fanout import WouldBlock as WouldBlock
from ._signaling import Signaling as Signaling
from ._transport._client import CloseInfo as CloseInfo
from ._transport._client import ConnectionStats as ConnectionStats
from ._transport._client import Hello as Hello
from ._transport._client import SignalClient as SignalClient
from ._transport._connect import open_signal_client as open_signal_client

__version__ = "0.1.0"

__all__ = [
    "Attachment",
    "Banned",
    "Call",
    "CallAccepted",
    "CallAnswer",
    "CallAnsweredElsewhere",
    "CallCancelled",
    "CallEnded",
    "CallIncoming",
    "CallMissed",
    "CallRejected",
    "CallRinging",
    "Calls",
    "Capabilities",
    "CapabilitiesChanged",
    "Channel",
    "ChannelAuth",
    "ChannelEvent",
    "ChannelMemberAdded",
    "ChannelMemberRemoved",
    "ChannelResubscribed",
    "Channels",
    "Chat",
    "ChatMessage",
    "CloseInfo",
    "Conflict",
    "Connected",
    "ConnectionFailed",
    "ConnectionState",
    "ConnectionStats",
    "Conversation",
    "Disconnected",
    "EndOfStream",
    "ErrorCode",
    "Event",
    "EventStream",
    "EventStreamStatistics",
    "FeatureDisabled",
    "Forbidden",
    "Group",
    "GroupChanged",
    "GroupMember",
    "Groups",
    "Hello",
    "HistoryPage",
    "IdentityMintDisabled",
    "InvalidRequest",
    "LimitExceeded",
    "Media",
    "MessageReceived",
    "NotFound",
    "Overflow",
    "PlanLimits",
    "Presence",
    "PresenceChanged",
    "PresenceInfo",
    "ProtocolError",
    "RateLimited",
    "ReceiptReceived",
    "RecoveryFinished",
    "ServerError",
    "Session",
    "SessionClosed",
    "SignalClient",
    "Signaling",
    "TimedOut",
    "TypingChanged",
    "UTDApi",
    "UTDStreamError",
    "Unauthorized",
    "UploadTicket",
    "WouldBlock",
    "open_signal_client",
    "open_signaling",
]
