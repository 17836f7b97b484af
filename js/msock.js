// msock: a dependency-free client for nanomsg/nng Scalability Protocols over
// WebSocket, for browsers and for Node >= 18 with a global WebSocket (or one
// passed as options.WebSocket). See README.md.
//
//   import { socket } from './msock.js';
//   const req = socket('req');
//   req.dial('ws://127.0.0.1:5557/sp');
//   const reply = await req.requestString('ping', { timeout: 5000 });
//
//   import { GroupSocket } from './msock.js';      // the group pattern: see README.md
//   const g = await GroupSocket.connect('ws://127.0.0.1:5600/hub');
//   const id = await g.join('room 1', 'secret');

export { socket, PairSocket, Pair1Socket, PubSocket, SubSocket, PushSocket, PullSocket, BusSocket,
  ReqSocket, RepSocket, RespondentSocket, SurveyorSocket, IncomingRequest } from './roles.js';
export { GroupSocket, GROUP_DEFAULTS, GROUP_NAME_MAX, GROUP_PASSWORD_MAX,
  GROUP_RELAY_MAX, GROUP_TYPES, GROUP_STATUS, GROUP_EVENTS, groupStatusError, toGroupId, encodeGroupList,
  encodeGroupCreate, encodeGroupJoin, encodeGroupLeave, encodeGroupDelete, encodeGroupWhoami,
  encodeGroupPeers, encodeGroupRelay, encodeGroupSend, decodeGroupMessage } from './group.js';
export { Socket, DEFAULTS } from './socket.js';
export { Dialer, Pipe } from './dialer.js';
export { MsockError, ClosedError, TimeoutError, TooLargeError, StateError, NotSupportedError,
  ProtocolError, AbortError, GroupError } from './errors.js';
export { PROTOCOLS, ID_BIT, subprotocolFor, encodeText, decodeText, toBytes, readU32, writeU32,
  withHeader, randomId, nextId, splitBacktrace, splitPair1, hasPrefix, bytesEqual,
  backoffDelay } from './wire.js';
