/**
 * Support for the tests of every module that depends on no Homa module: throwaway network namespaces joined by
 * veth pairs and code run inside them, a watchdog for child-process hosts, the package graph of compiled classes
 * and the public surface of a module.
 */
package dev.homa.test;
