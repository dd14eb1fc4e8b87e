import { createRouter, createWebHashHistory } from 'vue-router';
import ExperimentsView from './views/ExperimentsView.vue';

// Hash history: the same routes work from file:// in Electron and from the web-mode server.
export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/', component: ExperimentsView },
    { path: '/experiments/:id', component: () => import('./views/ExperimentView.vue') },
    { path: '/doctor', component: () => import('./views/DoctorView.vue') },
    { path: '/settings', component: () => import('./views/SettingsView.vue') },
  ],
});
