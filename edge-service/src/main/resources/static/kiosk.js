// Tandem kiosk: streams chat completions from this edge (POST /v1/chat/completions, stream: true)
// and shows the route that answered and the time to first token measured here in the browser.
// The conversation lives in memory only: reloading the page or "New story" forgets it.
'use strict';

(() => {
  const API = 'v1/chat/completions';
  // Answer length: 256 tokens unless the page's address says otherwise (?max_tokens=N, 1..1024), so an
  // operator can keep answers short on a slow device.
  const MAX_TOKENS = (() => {
    const asked = Number.parseInt(new URLSearchParams(location.search).get('max_tokens'), 10);
    return Number.isInteger(asked) && asked >= 1 && asked <= 1024 ? asked : 256;
  })();
  const TEMPERATURE = 0.8;

  const $ = (id) => document.getElementById(id);
  const log = $('conversation');
  const welcome = $('welcome');
  const form = $('composer');
  const prompt = $('prompt');
  const routePicker = $('route');
  const sendButton = $('send');
  const stopButton = $('stop');
  const newButton = $('new-chat');
  const alertBox = $('alert');
  const alertText = $('alert-text');
  const modelStatus = $('model-status');
  const template = $('message-template');

  /** @type {{role: 'user'|'assistant', content: string}[]} */
  let messages = [];
  /** The request in flight, if any. */
  let inFlight = null;
  let busyUntil = 0;
  let busyTimer = 0;
  let modelId = null;
  /** The model continues the user's text (no chat template): show its answer after the user's words. */
  let continuesText = false;

  /** The route that answered, in a shop customer's words. */
  const ROUTE_WORDS = {
    local: 'Answered on this kiosk',
    split: 'Answered by this kiosk together with the cloud',
    cloud: 'Answered by the cloud',
    escalate: 'Started on this kiosk, finished by the cloud',
  };

  // ---- model status -------------------------------------------------------------------------

  async function loadModel() {
    try {
      const res = await fetch('v1/models', { headers: { Accept: 'application/json' } });
      if (!res.ok) throw new Error('HTTP ' + res.status);
      const body = await res.json();
      modelId = body.data && body.data[0] ? body.data[0].id : null;
      continuesText = Boolean(body.data && body.data[0] && body.data[0].tandem && body.data[0].tandem.continues_text);
      setStatus('ready', modelId ? `${modelId} · ready` : 'ready');
    } catch (e) {
      setStatus('offline', 'edge unreachable');
    }
  }

  function setStatus(state, text) {
    modelStatus.dataset.state = state;
    modelStatus.textContent = text;
  }

  // ---- rendering ------------------------------------------------------------------------------

  function addMessage(role, text) {
    const node = template.content.firstElementChild.cloneNode(true);
    node.classList.add(role);
    node.querySelector('.who').textContent = role === 'user' ? 'You' : 'Kiosk';
    node.querySelector('.text').textContent = text;
    welcome.hidden = true;
    log.appendChild(node);
    scrollToEnd();
    return node;
  }

  function scrollToEnd() {
    log.scrollTop = log.scrollHeight;
  }

  function tag(className, text, title) {
    const span = document.createElement('span');
    span.className = 'tag ' + className;
    span.textContent = text;
    if (title) span.title = title;
    return span;
  }

  /** Route, reason, warnings, TTFT and token count under an answer. */
  function renderMeta(node, info) {
    const meta = node.querySelector('.meta');
    meta.replaceChildren();
    if (info.route) {
      const route = tag('route', ROUTE_WORDS[info.route] || 'route: ' + info.route, info.reason || '');
      route.dataset.route = info.route;
      meta.appendChild(route);
    }
    if (info.ttftMs != null) {
      const edge = info.edgeTtftMs != null ? ` (kiosk ${Math.round(info.edgeTtftMs)} ms)` : '';
      const ttft = tag('ttft', `first word after ${Math.round(info.ttftMs)} ms${edge}`);
      ttft.dataset.ttftMs = String(Math.round(info.ttftMs));
      if (info.edgeTtftMs != null) ttft.dataset.edgeTtftMs = String(info.edgeTtftMs);
      meta.appendChild(ttft);
    }
    if (info.tokens != null) meta.appendChild(tag('tokens', `${info.tokens} tokens`));
    if (info.finish) meta.appendChild(tag('finish', info.finish === 'length' ? 'stopped at the length limit' : info.finish));
    for (const w of info.warnings || []) meta.appendChild(tag('warning', 'Note: ' + w));
    if (info.reason) {
      const reason = document.createElement('span');
      reason.className = 'reason';
      reason.textContent = plainReason(info);
      reason.title = info.reason; // the routing policy's own words, for staff
      meta.appendChild(reason);
    }
  }

  /** Why the answer came from where it did, in a shop customer's words. */
  function plainReason(info) {
    if (info.warnings && info.warnings.length) return 'The cloud could not help this time, so this kiosk answered by itself.';
    switch (info.route) {
      case 'local': return info.reason && info.reason.includes('requested')
        ? 'You asked this kiosk to answer by itself.'
        : 'This kiosk could answer quickly by itself, so nothing left the shop.';
      case 'split': return 'This kiosk started the work and a bigger computer in the cloud finished it.';
      case 'cloud': return 'A bigger model in the cloud wrote this answer; your words stayed coded as numbers.';
      case 'escalate': return 'This kiosk began, then asked the cloud for help when it was unsure.';
      default: return info.reason;
    }
  }

  function showAlert(text, kind = 'error') {
    alertBox.dataset.kind = kind;
    alertText.textContent = text;
    alertBox.hidden = false;
  }

  function hideAlert() {
    alertBox.hidden = true;
    alertText.textContent = '';
  }

  function setStreaming(on) {
    sendButton.hidden = on;
    stopButton.hidden = !on;
    if (on) stopButton.focus({ preventScroll: true });
    updateSendState();
  }

  function updateSendState() {
    const busy = Date.now() < busyUntil;
    sendButton.disabled = busy || inFlight !== null;
    for (const chip of document.querySelectorAll('.chip')) chip.disabled = sendButton.disabled;
  }

  /** After a 429: say how long to wait, count down, then allow sending again. */
  function busyFor(seconds, detail) {
    busyUntil = Date.now() + seconds * 1000;
    clearInterval(busyTimer);
    const tick = () => {
      const left = Math.ceil((busyUntil - Date.now()) / 1000);
      if (left <= 0) {
        clearInterval(busyTimer);
        hideAlert();
        updateSendState();
        return;
      }
      showAlert(`The kiosk is busy right now (${detail}). Try again in ${left} s.`, 'busy');
      updateSendState();
    };
    tick();
    busyTimer = setInterval(tick, 250);
  }

  // ---- server-sent events over fetch ---------------------------------------------------------

  /**
   * Reads an SSE body and calls onEvent(data) for every event's data (multi-line data joined with
   * \n), onBatch() after each network read so the page repaints once per read.
   */
  async function readEvents(body, onEvent, onBatch) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      // Events end with a blank line; accept \n, \r\n and \r line ends.
      let match;
      const boundary = /\r\n\r\n|\n\n|\r\r/;
      while ((match = boundary.exec(buffer)) !== null) {
        const raw = buffer.slice(0, match.index);
        buffer = buffer.slice(match.index + match[0].length);
        const data = [];
        for (const line of raw.split(/\r\n|\n|\r/)) {
          if (line.startsWith('data:')) data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
        }
        if (data.length && onEvent(data.join('\n')) === false) {
          await reader.cancel();
          return;
        }
      }
      onBatch();
    }
  }

  // ---- one exchange ---------------------------------------------------------------------------

  async function send(text) {
    text = text.trim();
    if (!text || inFlight || Date.now() < busyUntil) return;
    hideAlert();
    prompt.value = '';
    autosize();

    messages.push({ role: 'user', content: text });
    addMessage('user', text);
    const answer = addMessage('assistant', '');
    const answerText = answer.querySelector('.text');
    answer.dataset.state = 'waiting';
    answer.setAttribute('aria-busy', 'true');

    const controller = new AbortController();
    const exchange = { controller, answer };
    inFlight = exchange;
    setStreaming(true);

    const info = { route: null, reason: null, warnings: [], ttftMs: null, edgeTtftMs: null, tokens: null, finish: null };
    let content = '';
    let pending = '';
    let streamError = null;
    const started = performance.now();

    // A model that continues text picks up mid-sentence (", there was..."): show the passage whole.
    const lead = continuesText ? text : '';
    const flush = () => {
      if (!pending) return;
      content += pending;
      pending = '';
      answerText.textContent = lead ? lead + content : content.replace(/^\s+/, '');
      answer.dataset.state = 'streaming';
      scrollToEnd();
    };

    try {
      const res = await fetch(API, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
        body: JSON.stringify({
          messages,
          stream: true,
          stream_options: { include_usage: true },
          max_tokens: MAX_TOKENS,
          temperature: TEMPERATURE,
          tandem: { route: routePicker ? routePicker.value : 'auto', trim_history: true },
        }),
        signal: controller.signal,
        cache: 'no-store',
      });
      if (!res.ok) throw await problemOf(res);
      info.route = res.headers.get('X-Tandem-Route');
      renderMeta(answer, info);

      await readEvents(res.body, (data) => {
        if (data === '[DONE]') return false;
        let chunk;
        try {
          chunk = JSON.parse(data);
        } catch {
          streamError = Object.assign(new Error('the edge sent an unreadable event'), { inStream: true });
          return false;
        }
        if (chunk.error) {
          streamError = Object.assign(new Error(chunk.error.message || 'the edge failed while answering'), { inStream: true });
          return true;
        }
        const choice = chunk.choices && chunk.choices[0];
        const delta = choice && choice.delta && choice.delta.content;
        if (delta) {
          if (info.ttftMs === null) {
            info.ttftMs = performance.now() - started;
            renderMeta(answer, info);
          }
          pending += delta;
        }
        if (choice && choice.finish_reason) info.finish = choice.finish_reason;
        if (chunk.tandem) {
          info.route = chunk.tandem.route || info.route;
          info.reason = chunk.tandem.reason || null;
          info.warnings = Array.isArray(chunk.tandem.warnings) ? chunk.tandem.warnings : [];
          if (chunk.tandem.ttft_ms != null) info.edgeTtftMs = chunk.tandem.ttft_ms;
          if (chunk.tandem.trimmed_messages > 0) info.trimmed = chunk.tandem.trimmed_messages;
        }
        if (chunk.usage) info.tokens = chunk.usage.completion_tokens;
        return true;
      }, flush);
      flush();
      if (streamError) throw streamError;
      answer.dataset.state = 'done';
    } catch (e) {
      flush();
      if (e.name === 'AbortError') {
        answer.dataset.state = 'stopped';
        if (!info.finish) info.finish = 'stopped';
      } else {
        failed(answer, e, content);
      }
    } finally {
      answer.removeAttribute('aria-busy');
      if (inFlight === exchange) {
        inFlight = null;
        setStreaming(false);
      }
    }

    if (info.trimmed) trimHistory(info.trimmed, answer);
    if (answer.isConnected) {
      if (answer.dataset.state !== 'error') {
        if (content) messages.push({ role: 'assistant', content });
        else if (answer.dataset.state === 'done') answerText.textContent = '(the story ended here)';
        renderMeta(answer, info);
        scrollToEnd();
      }
      if (document.activeElement === stopButton || document.activeElement === document.body) prompt.focus({ preventScroll: true });
    }
  }

  /**
   * A failed turn: say why, take the user's message back out of the conversation and put it back in
   * the message box. An answer that broke midway stays visible, marked as failed.
   */
  function failed(answer, error, partial) {
    const last = messages[messages.length - 1];
    if (last && last.role === 'user') {
      messages.pop();
      if (!prompt.value) {
        prompt.value = last.content;
        autosize();
      }
    }
    if (partial) {
      answer.dataset.state = 'error';
    } else {
      const question = answer.previousElementSibling;
      answer.remove();
      if (question && question.classList.contains('user')) question.remove();
      if (!log.querySelector('.msg')) welcome.hidden = false;
    }
    if (error.status === 429) {
      busyFor(error.retryAfter, error.message);
    } else if (error.status || error.inStream) {
      showAlert(error.message);
    } else {
      showAlert(partial ? 'The answer broke off: ' + error.message : 'Cannot reach the edge service: ' + error.message);
    }
  }

  /** An Error from a non-2xx response, with the problem+json detail when the edge sent one. */
  async function problemOf(res) {
    let detail = null;
    let title = null;
    const type = res.headers.get('Content-Type') || '';
    try {
      if (type.includes('json')) {
        const problem = await res.json();
        detail = problem.detail || (problem.error && problem.error.message) || null;
        title = problem.title || null;
      } else {
        const text = (await res.text()).trim();
        if (text && text.length < 300) detail = text;
      }
    } catch {
      // keep the status line
    }
    const error = new Error(detail || title || `the edge answered ${res.status} ${res.statusText}`.trim());
    error.status = res.status;
    if (res.status === 429) {
      const header = res.headers.get('Retry-After');
      let seconds = Number.parseInt(header, 10);
      if (Number.isNaN(seconds) && header) seconds = Math.ceil((Date.parse(header) - Date.now()) / 1000);
      error.retryAfter = Number.isFinite(seconds) && seconds > 0 ? seconds : 1;
    }
    return error;
  }

  /**
   * The edge left the oldest messages out to fit the model's context: forget them here too (the
   * system message stays) and say so on screen, above the answer that needed the room.
   */
  function trimHistory(count, answer) {
    let left = count;
    for (let i = 0; i < messages.length - 1 && left > 0;) {
      if (messages[i].role === 'system') { i++; continue; }
      messages.splice(i, 1);
      left--;
    }
    const notice = document.createElement('p');
    notice.className = 'notice';
    notice.dataset.kind = 'trimmed';
    notice.setAttribute('role', 'status');
    notice.textContent = `To keep the story going, the kiosk left out its oldest ${count} messages: the model only remembers so much at once.`;
    answer.before(notice);
  }

  function stop() {
    if (inFlight) inFlight.controller.abort();
  }

  function newConversation() {
    stop();
    inFlight = null;
    setStreaming(false);
    messages = [];
    for (const node of log.querySelectorAll('.msg, .notice')) node.remove();
    welcome.hidden = false;
    hideAlert();
    prompt.value = '';
    autosize();
    prompt.focus({ preventScroll: true });
  }

  // ---- input ----------------------------------------------------------------------------------

  function autosize() {
    prompt.style.height = 'auto';
    prompt.style.height = Math.min(prompt.scrollHeight + 4, Math.round(window.innerHeight * 0.3)) + 'px';
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    send(prompt.value);
  });
  prompt.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send(prompt.value);
    }
  });
  prompt.addEventListener('input', autosize);
  stopButton.addEventListener('click', stop);
  newButton.addEventListener('click', newConversation);
  $('alert-close').addEventListener('click', hideAlert);
  for (const chip of document.querySelectorAll('.chip')) {
    chip.addEventListener('click', () => send(chip.dataset.starter));
  }
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && inFlight) stop();
  });

  loadModel();
})();
