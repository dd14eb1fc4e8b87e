import { app, BrowserWindow, dialog, net, protocol, session, shell } from 'electron';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { openLab, type Lab } from '../engine/lab-runtime.js';
import { resolveDataDir } from '../engine/store/data-dir.js';
import { RESOURCES_PATH_ENV, workerModule } from '../engine/util/runtime-paths.js';
import { CSP } from '../api/csp.js';
import { resolveLabFile } from '../engine/lab-files.js';
import { LabError, serializeError } from '../engine/errors.js';
import { registerIpcRouter } from './ipc-router.js';
import { utilitySpawner } from './utility-spawner.js';
import { KeychainSecretStore } from './keychain-secrets.js';

/**
 * The Electron shell: one window, sandboxed, talking to the lab only through the preload's `lab`
 * bridge. Domain logic lives in electron/engine; jobs run in utility processes.
 */
const argDataDir = process.argv.find((a) => a.startsWith('--data-dir='))?.slice('--data-dir='.length);
const rendererIndex = path.join(__dirname, '../renderer/index.html');
const rendererUrl = pathToFileURL(rendererIndex).href;
const devUrl = process.env.ELECTRON_RENDERER_URL;
const isTrustedUrl = (url: string) => (devUrl ? url.startsWith(devUrl) : url.split(/[?#]/)[0] === rendererUrl);

let lab: Lab | null = null;

// Artifact files (videos, images) reach the renderer as lab-file://<experimentId>/<path>: only registered
// artifacts, resolved by the engine, never arbitrary file:// access.
protocol.registerSchemesAsPrivileged([{ scheme: 'lab-file', privileges: { standard: true, secure: true, stream: true, supportFetchAPI: true } }]);

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => BrowserWindow.getAllWindows()[0]?.focus());
  app.whenReady().then(start).catch((err: Error) => {
    dialog.showErrorBox('VLA-AD Lab could not start', err.message);
    app.exit(1);
  });
}

async function start(): Promise<void> {
  // Packaged: every process the app starts (utility processes, and the plain forks of the rollout pool)
  // finds the app's files from the resources folder (engine/util/runtime-paths.ts).
  if (app.isPackaged) process.env[RESOURCES_PATH_ENV] = process.resourcesPath;
  const workerPath = workerModule('job-worker');
  const dataDir = resolveDataDir(argDataDir, path.join(app.getPath('userData'), 'data'));
  lab = openLab({ dataDir, owner: 'electron app', spawn: utilitySpawner(workerPath), secrets: new KeychainSecretStore(dataDir) });
  registerIpcRouter(lab, isTrustedUrl);
  protocol.handle('lab-file', (request) => {
    try {
      // A malformed lab-file URL (or escape) is a 404 with a typed error, like any other bad request.
      const url = new URL(request.url);
      const file = resolveLabFile(lab!.store, decodeURIComponent(url.hostname + url.pathname));
      return net.fetch(pathToFileURL(file).href, { headers: request.headers });
    } catch (err) {
      return new Response(JSON.stringify(serializeError(err instanceof URIError || err instanceof TypeError ? new LabError('INVALID_INPUT', `malformed lab-file URL: ${(err as Error).message}`, {}) : err)), { status: 404, headers: { 'content-type': 'application/json' } });
    }
  });

  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
  });
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, cb) => cb(false));

  const win = new BrowserWindow({
    width: 1280,
    height: 820,
    title: 'VLA-AD Lab',
    show: false,
    webPreferences: {
      preload: path.join(__dirname, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  });
  win.once('ready-to-show', () => win.show());
  win.webContents.on('will-navigate', (event, url) => {
    if (!isTrustedUrl(url)) event.preventDefault();
  });
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url);
    return { action: 'deny' };
  });
  if (devUrl) await win.loadURL(devUrl);
  else await win.loadFile(rendererIndex);
}

app.on('web-contents-created', (_e, contents) => {
  contents.on('will-attach-webview', (event) => event.preventDefault());
});
app.on('window-all-closed', () => app.quit());
app.on('will-quit', () => lab?.close());
