/**
 * The application API: {@code HomaTransport} and {@code HomaSocket}.
 */
package dev.homa.core;
