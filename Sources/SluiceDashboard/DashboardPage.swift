/// The dashboard page: one HTML document with its styles and script inline (no CDN, no external fonts
/// or scripts), refreshing from the JSON API every second and drawing lag over time as SVG.
enum DashboardPage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>Sluice — topics, lag, functions and deploys</title>
        <style>
          body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d2330; }
          header { background: #1d2330; color: #fff; padding: 10px 20px; display: flex; gap: 20px; align-items: baseline; }
          header h1 { font-size: 18px; margin: 0; }
          main { padding: 16px 20px; display: grid; gap: 16px; }
          section { background: #fff; border-radius: 6px; padding: 12px 16px; box-shadow: 0 1px 2px #0002; }
          h2 { font-size: 15px; margin: 0 0 8px; }
          table { border-collapse: collapse; width: 100%; }
          th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #eceef2; white-space: nowrap; }
          td.n { text-align: right; font-variant-numeric: tabular-nums; }
          .status { font-weight: 600; padding: 1px 6px; border-radius: 3px; }
          .OK { background: #d8f3dc; color: #1b5e20; } .WARN { background: #fff3c4; color: #7a5900; }
          .ERR, .STOP, .STALL, .REWIND { background: #fde0e0; color: #8b1a1a; }
          .functions { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 12px; }
          .panel { border: 1px solid #e3e6eb; border-radius: 6px; padding: 10px; }
          .panel h3 { margin: 0 0 6px; font-size: 14px; }
          .panel dl { display: grid; grid-template-columns: auto auto; gap: 2px 12px; margin: 0; }
          .panel dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }
          code { background: #f0f2f5; padding: 1px 4px; border-radius: 3px; font-size: 12px; }
          svg { background: #fbfcfd; border: 1px solid #eceef2; }
          #updated { opacity: .7; font-size: 12px; }
        </style>
        </head>
        <body>
        <header><h1>Sluice</h1><span id="updated">loading…</span></header>
        <main>
          <section><h2>Consumer groups</h2><table id="groups"><thead><tr><th>group</th><th>status</th><th>members</th><th>lag</th><th>lag time</th><th>lag over time</th></tr></thead><tbody></tbody></table></section>
          <section><h2>Functions</h2><div class="functions" id="functions"></div></section>
          <section><h2>Partitions</h2><table id="lag"><thead><tr><th>group</th><th>topic</th><th>partition</th><th>committed</th><th>end</th><th>lag</th><th>lag time</th><th>in/s</th><th>out/s</th><th>status</th><th>owner</th></tr></thead><tbody></tbody></table></section>
          <section><h2>Deploys</h2><table id="deployments"><thead><tr><th>time</th><th>function</th><th>event</th><th>from</th><th>to</th><th>canary %</th><th>decided by</th><th>canary: attempts / errors / p99</th><th>stable: attempts / errors / p99</th><th>reason</th></tr></thead><tbody></tbody></table></section>
          <section><h2>Scaling decisions</h2><table id="scaling"><thead><tr><th>time</th><th>for</th><th>decision</th><th>before</th><th>after</th><th>warm / worker</th><th>concurrency</th><th>reason</th></tr></thead><tbody></tbody></table></section>
          <section><h2>Topics</h2><table id="topics"><thead><tr><th>topic</th><th>partitions</th><th>records</th><th>in/s</th></tr></thead><tbody></tbody></table></section>
        </main>
        <script>
        "use strict";
        const esc = s => String(s).replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
        const secs = s => s < 10 ? s.toFixed(1) + "s" : s < 3600 ? Math.floor(s / 60) + "m" + String(Math.floor(s % 60)).padStart(2, "0") + "s" : (s / 3600).toFixed(1) + "h";
        const cell = (v, n) => `<td${n ? ' class="n"' : ""}>${esc(v)}</td>`;
        const badge = s => `<span class="status ${esc(s)}">${esc(s)}</span>`;
        function spark(points) {
          const w = 240, h = 40;
          if (!points.length) return `<svg width="${w}" height="${h}"></svg>`;
          const t0 = points[0].t, t1 = Math.max(points[points.length - 1].t, t0 + 1);
          const max = Math.max(1, ...points.map(p => p.lag));
          const path = points.map((p, i) => `${i ? "L" : "M"}${((p.t - t0) / (t1 - t0) * (w - 4) + 2).toFixed(1)},${(h - 2 - p.lag / max * (h - 4)).toFixed(1)}`).join(" ");
          return `<svg width="${w}" height="${h}" viewBox="0 0 ${w} ${h}"><path d="${path}" fill="none" stroke="#3867d6" stroke-width="1.5"/><text x="${w - 4}" y="11" font-size="10" text-anchor="end" fill="#667">max ${max}</text></svg>`;
        }
        async function get(path) { const r = await fetch(path, {cache: "no-store"}); return r.json(); }
        async function refresh() {
          try {
            const [groups, lag, topics, functions, scaling, deployments] = await Promise.all(["/api/groups", "/api/lag", "/api/topics", "/api/functions", "/api/scaling", "/api/deployments"].map(get));
            const figures = f => f ? `${f.invocations} / ${f.errors} / ${f.p99_ms == null ? "-" : f.p99_ms.toFixed(1) + " ms"}` : "-";
            document.querySelector("#deployments tbody").innerHTML = deployments.slice().reverse().map(e =>
              `<tr data-deploy="${esc(e.function)}" data-event="${esc(e.event_type)}">${cell(e.timestamp)}${cell(e.function)}${cell(e.event_type)}${cell(e.from_version ?? "-", 1)}${cell(e.to_version, 1)}${cell(e.canary_percent ?? "-", 1)}${cell(e.decided_by)}${cell(figures(e.canary))}${cell(figures(e.stable))}${cell(e.reason)}</tr>`).join("");
            const split = d => !d ? "" : d.state === "baking" ? `<dt>deploy</dt><dd class="split">v${esc(d.stable_version)} ${100 - d.canary_percent}% · canary v${esc(d.canary_version)} ${esc(d.canary_percent)}%</dd>` : `<dt>deploy</dt><dd>v${esc(d.stable_version)} (${esc(d.last_event)})</dd>`;
            const versions = vs => vs.map(v => `<dt>v${esc(v.version)}</dt><dd>${v.invocations} · ${(v.error_rate * 100).toFixed(1)}% err · p99 ${v.p99_ms} ms</dd>`).join("");
            document.querySelector("#scaling tbody").innerHTML = scaling.slice().reverse().map(e =>
              `<tr>${cell(e.timestamp)}${cell(e.function_id)}${cell(e.event_type)}${cell(e.instances_before, 1)}${cell(e.instances_after, 1)}${cell(e.warm_processes, 1)}${cell(e.concurrency ?? "max", 1)}${cell(e.reason)}</tr>`).join("");
            document.querySelector("#groups tbody").innerHTML = groups.map(g =>
              `<tr data-group="${esc(g.group)}">${cell(g.group)}<td>${badge(g.status)}</td>${cell(g.members, 1)}${cell(g.lag, 1)}${cell(secs(g.lag_seconds), 1)}<td>${spark(g.history)}</td></tr>`).join("");
            document.querySelector("#lag tbody").innerHTML = lag.map(r =>
              `<tr>${cell(r.group)}${cell(r.topic)}${cell(r.partition, 1)}${cell(r.committed, 1)}${cell(r.end, 1)}${cell(r.lag, 1)}${cell(secs(r.lag_seconds), 1)}${cell(r.produce_rate, 1)}${cell(r.consume_rate, 1)}<td>${badge(r.status)}</td>${cell(r.owner ?? "-")}</tr>`).join("");
            document.querySelector("#topics tbody").innerHTML = topics.map(t =>
              `<tr data-topic="${esc(t.topic)}">${cell(t.topic)}${cell(t.partitions, 1)}${cell(t.end_offsets ?? "-", 1)}${cell(t.produce_rate ?? "-", 1)}</tr>`).join("");
            document.querySelector("#functions").innerHTML = functions.map(f => `
              <div class="panel" data-function="${esc(f.function)}" data-invocations="${f.invocations_total}">
                <h3>${esc(f.function)}</h3>
                <dl>
                  <dt>invocations</dt><dd class="invocations">${f.invocations_total}</dd>
                  <dt>invocations/s</dt><dd>${f.invocations_per_s}</dd>
                  <dt>error rate</dt><dd>${(f.error_rate * 100).toFixed(1)}%</dd>
                  <dt>duration p50 / p95 / p99</dt><dd>${f.duration_ms.p50} / ${f.duration_ms.p95} / ${f.duration_ms.p99} ms</dd>
                  <dt>cold starts</dt><dd>${(f.cold_start_rate * 100).toFixed(1)}%</dd>
                  <dt>warm processes</dt><dd>${f.warm_processes}</dd>
                  <dt>dead letters</dt><dd>${f.dlq_depth} (+${f.dlq_growth_per_min.toFixed(1)}/min)</dd>
                  ${split(f.deploy)}${versions(f.versions)}
                </dl>
                ${f.dlq_depth ? `<p><code>${esc(f.replay_command)}</code></p>` : ""}
              </div>`).join("");
            document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
          } catch (e) {
            document.getElementById("updated").textContent = "cannot reach the dashboard API: " + e;
          }
        }
        refresh();
        setInterval(refresh, 1000);
        </script>
        </body>
        </html>
        """#
}
