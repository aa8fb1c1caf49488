declare module '*.css';
declare module 'virtual:mantine-global-classes.css';
