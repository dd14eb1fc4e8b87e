import { createRouter, createWebHashHistory } from 'vue-router';
import ExperimentsView from './views/ExperimentsView.vue';

// Hash history: the same routes work from file:// in Electron and from the web-mode server.
export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/', component: ExperimentsView, meta: { title: 'Experiments' } },
    { path: '/experiments/:id', component: () => import('./views/ExperimentView.vue'), meta: { title: 'Experiment' } },
    // The trial browser: a matrix cell → its trials → one trial replayed → every policy from the same initial state.
    { path: '/experiments/:id/trials/:policy/:suite/:task', component: () => import('./views/TrialListView.vue'), meta: { title: 'Trials' } },
    { path: '/experiments/:id/trials/:policy/:suite/:task/:trial', component: () => import('./views/TrialView.vue'), meta: { title: 'Trial' } },
    { path: '/experiments/:id/paired/:suite/:task/:init', component: () => import('./views/PairedView.vue'), meta: { title: 'Paired view' } },
    { path: '/doctor', component: () => import('./views/DoctorView.vue'), meta: { title: 'Doctor' } },
    { path: '/settings', component: () => import('./views/SettingsView.vue'), meta: { title: 'Settings' } },
  ],
});

// Each page says what it is in the window title (and to screen readers, tabs and history).
router.afterEach((to) => {
  const title = typeof to.meta.title === 'string' ? to.meta.title : null;
  const where = to.params.suite !== undefined ? ` · ${String(to.params.suite)} task ${String(to.params.task)}${to.params.trial !== undefined ? ` · trial ${String(to.params.trial)}` : ''}` : '';
  document.title = title ? `${title}${where} — VLA-AD Lab` : 'VLA-AD Lab';
});
