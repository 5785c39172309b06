/**
 * Support for the tests of every module that depends on no Homa module: throwaway network namespaces joined by
 * veth pairs and code run inside them (entered through the project's one binding set, which a
 * {@link dev.homa.test.NamespaceEntry} on the class path supplies), the package graph of compiled classes and the
 * public surface of a module.
 */
package dev.homa.test;
