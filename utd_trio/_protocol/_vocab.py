"""The vocabulary table: every wire name the client speaks, in one place.

Names tagged ``[doc]`` are the real engine's published behaviour; ``[v1]`` names are this
project's choices where the real engine's exact shape is not published. A different engine
dialect is a change to this table, not a rewrite.
"""

from __future__ import annotations

from typing import Final

# --- Hosts and REST paths ---------------------------------------------------------------
DEFAULT_BASE_URL: Final = "https://engine.udt-stream.com"  # [doc]
PATH_MINT: Final = "/api/v1/auth/session"  # [doc]
PATH_PUSH_TOKEN: Final = "/api/v1/devices/push-token"  # [doc]
PATH_PRESIGN: Final = "/api/v1/media/presign"  # [v1]
PATH_PRESENCE: Final = "/api/v1/presence"  # [v1]
PATH_CONVERSATIONS: Final = "/api/v1/chat/conversations"  # [v1]
PATH_CONVERSATION_MESSAGES: Final = "/api/v1/chat/conversations/{cid}/messages"  # [v1]
PATH_GROUPS: Final = "/api/v1/chat/groups"  # [v1]
PATH_GROUP: Final = "/api/v1/chat/groups/{gid}"  # [v1]
PATH_GROUP_MEMBERS: Final = "/api/v1/chat/groups/{gid}/members"  # [v1]
PATH_GROUP_MEMBER: Final = "/api/v1/chat/groups/{gid}/members/{uid}"  # [v1]
PATH_GROUP_MEMBER_ROLE: Final = "/api/v1/chat/groups/{gid}/members/{uid}/role"  # [v1]
PATH_GROUP_LEAVE: Final = "/api/v1/chat/groups/{gid}/leave"  # [v1]
PATH_CHANNEL_AUTH: Final = "/api/v1/channels/auth"  # [v1] development grants (bearer)
PATH_CHANNEL_EVENTS: Final = "/api/v1/channels/events"  # [v1] backend broadcast (secret)
PATH_CHANNELS: Final = "/api/v1/channels"  # [v1] occupied channels (secret)
PATH_CHANNEL_USERS: Final = "/api/v1/channels/{name}/users"  # [v1] presence users (secret)

# --- Headers ----------------------------------------------------------------------------
HEADER_APP_ID: Final = "X-App-Id"  # [doc]
HEADER_APP_KEY: Final = "X-App-Key"  # [doc]
HEADER_APP_SECRET: Final = "X-App-Secret"  # [doc]
HEADER_RETRY_AFTER: Final = "Retry-After"  # [v1]
WS_TOKEN_QUERY: Final = "token"  # [v1]

# --- Mint fields ------------------------------------------------------------------------
MINT_USER_TOKEN: Final = "user_token"  # [doc]
MINT_WS_URL: Final = "ws_url"  # [doc]
MINT_EXPIRES_IN: Final = "expires_in"  # [v1]
MINT_SIGNALING_ENABLED: Final = "signaling_enabled"  # [doc]
MINT_CHAT_ENABLED: Final = "messaging_enabled"  # [doc] exposed as chat_enabled
MINT_LIMITS: Final = "limits"  # [doc]
LIMIT_FIELDS: Final = ("history_days", "max_group_members", "max_friends", "max_chatrooms")

# --- Envelope ---------------------------------------------------------------------------
FRAME_EVENT: Final = "event"  # [doc]
FRAME_DATA: Final = "data"  # [doc]
FRAME_REF: Final = "ref"  # [v1]
MAX_FRAME_BYTES: Final = 1024 * 1024  # [doc] 1 MiB of UTF-8

# --- Server -> client events [v1] ---------------------------------------------------------
EV_ESTABLISHED: Final = "connection.established"
EV_PONG: Final = "pong"
EV_ACK: Final = "ack"
EV_ERROR: Final = "error"
EV_PRESENCE_UPDATE: Final = "presence.update"
EV_CALL_INCOMING: Final = "call.incoming"
EV_CALL_RINGING: Final = "call.ringing"
EV_CALL_ACCEPTED: Final = "call.accepted"
EV_CALL_ANSWERED_ELSEWHERE: Final = "call.answered_elsewhere"
EV_CALL_REJECTED: Final = "call.rejected"
EV_CALL_CANCELLED: Final = "call.cancelled"
EV_CALL_ENDED: Final = "call.ended"
EV_CALL_MISSED: Final = "call.missed"
EV_MESSAGE_NEW: Final = "message.new"
EV_RECEIPT: Final = "receipt"
EV_TYPING: Final = "typing"
EV_GROUP_UPDATED: Final = "group.updated"
EV_CAPABILITIES_UPDATED: Final = "capabilities.updated"
EV_CHANNEL_EVENT: Final = "channel.event"
EV_CHANNEL_MEMBER_ADDED: Final = "channel.member_added"
EV_CHANNEL_MEMBER_REMOVED: Final = "channel.member_removed"

# --- Client -> server requests [v1] -------------------------------------------------------
REQ_PING: Final = "ping"
REQ_PRESENCE_SUBSCRIBE: Final = "presence.subscribe"
REQ_PRESENCE_UNSUBSCRIBE: Final = "presence.unsubscribe"
REQ_CALL_INVITE: Final = "call.invite"
REQ_CALL_RINGING: Final = "call.ringing"
REQ_CALL_ACCEPT: Final = "call.accept"
REQ_CALL_REJECT: Final = "call.reject"
REQ_CALL_CANCEL: Final = "call.cancel"
REQ_CALL_END: Final = "call.end"
REQ_MESSAGE_SEND: Final = "message.send"
REQ_MESSAGE_DELIVERED: Final = "message.delivered"
REQ_MESSAGE_READ: Final = "message.read"
REQ_TYPING: Final = "typing"
REQ_CHANNEL_SUBSCRIBE: Final = "channel.subscribe"
REQ_CHANNEL_UNSUBSCRIBE: Final = "channel.unsubscribe"
REQ_CHANNEL_TRIGGER: Final = "channel.trigger"

# --- Request payload fields (protocol §6, §11) [v1] ---------------------------------------
FIELD_TO: Final = "to"  # a DM's other user (message.send, typing) or the callee (call.invite)
FIELD_GROUP_ID: Final = "group_id"
FIELD_CALL_ID: Final = "call_id"
FIELD_CALL_TYPE: Final = "type"
FIELD_REASON: Final = "reason"
FIELD_METADATA: Final = "metadata"
FIELD_CLIENT_ID: Final = "client_id"
FIELD_TEXT: Final = "text"
FIELD_ATTACHMENT: Final = "attachment"
FIELD_CONVERSATION_ID: Final = "conversation_id"
FIELD_UP_TO_SEQ: Final = "up_to_seq"
FIELD_IS_TYPING: Final = "is_typing"
FIELD_CHANNEL: Final = "channel"
FIELD_EVENT: Final = "event"
FIELD_EVENT_DATA: Final = "data"  # channel.trigger's payload (not the envelope's FRAME_DATA)
ATTACHMENT_URL: Final = "url"
ATTACHMENT_KEY: Final = "key"
ATTACHMENT_CONTENT_TYPE: Final = "content_type"
ATTACHMENT_SIZE: Final = "size"
ATTACHMENT_NAME: Final = "name"
CHAT_TARGETS: Final = (FIELD_TO, FIELD_GROUP_ID)  # a message or typing names exactly one
CALL_AUDIO: Final = "audio"
CALL_VIDEO: Final = "video"
CALL_TYPES: Final = (CALL_AUDIO, CALL_VIDEO)
REJECT_DECLINED: Final = "declined"
REJECT_BUSY: Final = "busy"
REJECT_REASONS: Final = (REJECT_DECLINED, REJECT_BUSY)

# --- Server event payload fields (protocol §7; the hot events' canonical shape) [v1] ------
FIELD_ID: Final = "id"  # a message's id
FIELD_SEQ: Final = "seq"  # a message's place in its conversation
FIELD_FROM: Final = "from"  # the sender of a message or of a typing indicator
FIELD_CREATED_AT: Final = "created_at"
FIELD_USER_ID: Final = "user_id"  # presence.update, receipt
FIELD_ONLINE: Final = "online"
FIELD_LAST_SEEN_AT: Final = "last_seen_at"
FIELD_STATUS: Final = "status"  # a receipt's "delivered" or "read"
FIELD_AT: Final = "at"  # when a receipt was given
RECEIPT_DELIVERED: Final = "delivered"  # a receipt without a status

# --- Hello fields [v1] --------------------------------------------------------------------
HELLO_SOCKET_ID: Final = "socket_id"
HELLO_USER_ID: Final = "user_id"
HELLO_HEARTBEAT_INTERVAL: Final = "heartbeat_interval"
HELLO_SERVER_TIME: Final = "server_time"

# --- Error codes the engine sends (REST body `code`, WS error `data.code`) [v1] -----------
WIRE_BANNED: Final = "banned"  # [doc]
WIRE_IDENTITY_MINT_DISABLED: Final = "appkey_identity_mint_disabled"  # [doc]
WIRE_FEATURE_DISABLED: Final = "feature_disabled"
WIRE_LIMIT_EXCEEDED: Final = "limit_exceeded"
WIRE_INVALID_FRAME: Final = "invalid_frame"

# --- WebSocket close codes [v1, Pusher-style ranges] ---------------------------------------
CLOSE_NORMAL: Final = 1000
CLOSE_GOING_AWAY: Final = 1001
CLOSE_ABNORMAL: Final = 1006
CLOSE_INTERNAL_ERROR: Final = 1011
CLOSE_TOKEN_INVALID: Final = 4001
CLOSE_FORBIDDEN: Final = 4003
CLOSE_HEARTBEAT_TIMEOUT: Final = 4008
CLOSE_RATE_LIMITED: Final = 4029

# --- Defaults -----------------------------------------------------------------------------
DEFAULT_HEARTBEAT_INTERVAL: Final = 25.0  # [v1] seconds, when the hello omits it
DEFAULT_HEARTBEAT_TIMEOUT: Final = 10.0  # [v1]
RATE_LIMIT_CLOSE_FLOOR: Final = 5.0  # [v1] minimum backoff after a 4029 close
TYPING_THROTTLE: Final = 3.0  # [v1] at most one is_typing=true per conversation per 3 s
TYPING_EXPIRY: Final = 6.0  # [v1] receivers expire typing after 6 s without refresh
MAX_TEXT_CHARS: Final = 4000  # [v1]
MAX_METADATA_BYTES: Final = 16 * 1024  # [v1]
MAX_PRESENCE_IDS: Final = 1000  # [v1]

# --- Channels (contract §11) ----------------------------------------------------------------
CHANNEL_NAME_MAX: Final = 164  # [Pusher] 1–164 of CHANNEL_NAME_CHARS
CHANNEL_NAME_CHARS: Final = r"[A-Za-z0-9_\-=@,.;]"  # [Pusher]
CHANNEL_PRIVATE_PREFIX: Final = "private-"  # [doc] needs a grant
CHANNEL_PRESENCE_PREFIX: Final = "presence-"  # [doc] needs a grant, has members
CHANNEL_ENCRYPTED_PREFIX: Final = "private-encrypted-"  # [v1] not offered (422)
CLIENT_EVENT_PREFIX: Final = "client-"  # [Pusher]
CLIENT_EVENT_NAME_MAX: Final = 200  # [Pusher]
CHANNEL_EVENT_MAX_BYTES: Final = 10 * 1024  # [Pusher] compact JSON, UTF-8
CHANNEL_USER_INFO_MAX_BYTES: Final = 1024  # [v1]
CLIENT_EVENTS_PER_SECOND: Final = 10  # [Pusher] per socket, any sliding 1 s window
MAX_BROADCAST_CHANNELS: Final = 100  # [Pusher] channels per broadcast
GRANT_AUTH: Final = "auth"  # [doc] "<app key>:<hex hmac>"
GRANT_CHANNEL_DATA: Final = "channel_data"  # [doc] JSON string {"user_id", "user_info"?}

# --- Presence request and reply fields (_protocol/_presence.py) [v1] -----------------------
FIELD_USER_IDS: Final = "user_ids"  # presence.subscribe / presence.unsubscribe
PRESENCE_USERS: Final = "users"  # presence.subscribe ack: the snapshot
