// Runs Pyodide and the engine off the main thread. Everything is loaded from this origin.
import { loadPyodide } from "./pyodide/pyodide.mjs";

const base = new URL("./", import.meta.url);
let bridge = null;

async function start() {
  const t0 = performance.now();
  const pyodide = await loadPyodide({ indexURL: new URL("pyodide/", base).href });
  const manifest = await (await fetch(new URL("wheels/index.json", base))).json();
  const site = pyodide.runPython("import site; site.getsitepackages()[0]");
  for (const wheel of manifest.wheels) {
    const buf = await (await fetch(new URL("wheels/" + wheel, base))).arrayBuffer();
    pyodide.unpackArchive(buf, "zip", { extractDir: site });
  }
  const code = await (await fetch(new URL("bridge.py", base))).text();
  pyodide.FS.writeFile(site + "/sockdoctor_web_bridge.py", code);
  bridge = pyodide.pyimport("sockdoctor_web_bridge");
  return { ms: performance.now() - t0, python: pyodide.version };
}

const ready = start();

self.onmessage = async (event) => {
  const { id, method, arg } = event.data;
  try {
    let value;
    if (method === "ready") value = await ready;
    else {
      await ready;
      const t0 = performance.now();
      value = { json: bridge[method](arg ?? ""), ms: performance.now() - t0 };
    }
    self.postMessage({ id, value });
  } catch (err) {
    self.postMessage({ id, error: String(err && err.message || err) });
  }
};
