import '@mantine/core/styles.css';
import 'virtual:mantine-global-classes.css';
import './console.css';
import { MantineProvider } from '@mantine/core';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';

// The theme's CSS variables are the defaults shipped in @mantine/core/styles.css, and the global
// classes come from the build (src/build.ts): the provider injects no <style> element, which the
// Content-Security-Policy (style-src 'self') would refuse.
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <MantineProvider withCssVariables={false} withGlobalClasses={false} defaultColorScheme="light">
      <App />
    </MantineProvider>
  </StrictMode>,
);
