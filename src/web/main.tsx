// The web app's entry: one page for every route (router.ts picks what it shows from the path).
import { render } from 'preact';
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { App } from './app.tsx';

const root = document.getElementById('root');
if (root !== null) render(<App />, root);
