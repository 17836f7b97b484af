// app.js: the browser side of the chat example. A BUS socket dials ws://<this host>/chat (the
// server relays every line to every browser); msock.js redials with backoff when it drops.
import { socket, decodeText } from './msock.js';

const $ = (id) => document.getElementById(id);
const nameBox = $('name'), textBox = $('text'), list = $('messages'), state = $('state');
const button = $('send').querySelector('button');

nameBox.value = localStorage.getItem('chat-name') || `guest${Math.floor(Math.random() * 1000)}`;
nameBox.addEventListener('change', () => localStorage.setItem('chat-name', nameBox.value));
const myName = () => nameBox.value.replace(/[:\s]+/g, ' ').trim() || 'anonymous';

const bus = socket('bus', { recvMaxSize: 4096 });
const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
bus.dial(`${scheme}://${location.host}/chat`);

function showState(text, connected) {
  state.textContent = text;
  state.classList.toggle('connected', connected);
  button.disabled = !connected;
}
bus.addEventListener('pipeopen', () => showState('connected', true));
bus.addEventListener('pipeclose', () => {
  if (bus.pipes.length === 0) showState('connecting', false);
});
bus.addEventListener('reconnect', (e) =>
  showState(`reconnecting in ${(e.detail.delay / 1000).toFixed(1)} s`, false));

$('send').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = textBox.value.trim();
  if (!text || bus.pipes.length === 0) return;
  bus.send(`${myName()}: ${text}`); // BUS: to the open connection, never waits
  textBox.value = '';
});

function show(line) {
  const i = line.indexOf(': ');
  const li = document.createElement('li');
  const who = document.createElement('b');
  who.textContent = i > 0 ? line.slice(0, i) : '';
  li.append(who, i > 0 ? line.slice(i + 2) : line);
  li.classList.toggle('mine', who.textContent === myName());
  list.append(li);
  li.scrollIntoView({ block: 'end' });
}

while (!bus.closed) {
  try {
    show(decodeText(await bus.recv()));
  } catch (err) {
    console.warn('chat:', err.message); // a message over recvMaxSize: skip it
  }
}
