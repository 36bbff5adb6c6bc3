// Live latest-blocks table: the explorer's same-origin relay of the gateway's event stream (server-sent events).
// The browser's EventSource resends the last event id when it reconnects, so no block is missed or shown twice.
(function () {
  "use strict";
  var table = document.getElementById("latest-blocks");
  if (!table || !window.EventSource) { return; }
  var body = table.tBodies[0];
  var limit = Number(table.dataset.limit || 20);
  var state = document.getElementById("live-state");
  var next = Number(table.dataset.next);  // the first height not shown yet
  var source = null;

  function show(text, name) {
    if (state) { state.textContent = text; state.dataset.state = name; }
  }

  function when(ms) {
    return new Date(ms).toISOString().replace("T", " ").slice(0, 19) + " UTC";
  }

  function cell(row, text, className) {
    var td = row.insertCell(-1);
    if (className) { td.className = className; }
    if (text !== null) { td.textContent = text; }
    return td;
  }

  function addBlock(block) {
    if (block.height < next) { return; }
    next = block.height + 1;
    var row = document.createElement("tr");
    row.dataset.height = String(block.height);
    row.className = "fresh";
    var link = document.createElement("a");
    link.className = "mono";
    link.href = table.dataset.blockUrl.replace("HEIGHT", String(block.height));
    link.textContent = "#" + block.height;
    cell(row, null).appendChild(link);
    cell(row, when(block.timestamp_ms));
    cell(row, String(block.tx_count), "num");
    var hash = cell(row, block.hash.slice(0, 24) + "…", "mono");
    hash.title = block.hash;
    body.insertBefore(row, body.firstChild);
    while (body.rows.length > limit) { body.deleteRow(body.rows.length - 1); }
    var height = document.getElementById("status-height");
    if (height && Number(height.textContent) < block.height) {
      height.textContent = String(block.height);
      document.getElementById("status-hash").textContent = block.hash;
      document.getElementById("status-time").textContent = when(block.timestamp_ms);
    }
    window.setTimeout(function () { row.className = ""; }, 3000);
  }

  function connect() {
    source = new EventSource(table.dataset.stream + "?types=block&from_height=" + next);
    source.onopen = function () { show("live", "live"); };
    source.addEventListener("block", function (event) { addBlock(JSON.parse(event.data)); });
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) {
        // The relay answered with an error page (gateway down): try again a little later.
        show("reconnecting…", "reconnecting");
        window.setTimeout(connect, 5000);
      } else {
        show("reconnecting…", "reconnecting");
      }
    };
  }

  connect();
})();
