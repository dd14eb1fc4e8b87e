import { createRouter, createWebHashHistory } from 'vue-router';
import ExperimentsView from './views/ExperimentsView.vue';

// Hash history: the same routes work from file:// in Electron and from the web-mode server.
export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/', component: ExperimentsView },
    { path: '/experiments/:id', component: () => import('./views/ExperimentView.vue') },
    // The trial browser: a matrix cell → its trials → one trial replayed → every policy from the same initial state.
    { path: '/experiments/:id/trials/:policy/:suite/:task', component: () => import('./views/TrialListView.vue') },
    { path: '/experiments/:id/trials/:policy/:suite/:task/:trial', component: () => import('./views/TrialView.vue') },
    { path: '/experiments/:id/paired/:suite/:task/:init', component: () => import('./views/PairedView.vue') },
    { path: '/doctor', component: () => import('./views/DoctorView.vue') },
    { path: '/settings', component: () => import('./views/SettingsView.vue') },
  ],
});
