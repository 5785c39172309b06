package dev.homa.test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.constantpool.ClassEntry;
import java.lang.classfile.constantpool.PoolEntry;
import java.lang.classfile.constantpool.Utf8Entry;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The compiled classes of one module (its {@code target/classes} directory), read with the JDK's class-file API:
 * which packages depend on which, the strongly connected groups of that graph (package cycles), the public types of
 * a package and the packages the module descriptor exports. Architecture tests assert on these, so a cycle or a
 * newly public engine class fails the build instead of waiting for a review.
 */
public final class CompiledClasses
{
    private static final Pattern DESCRIPTOR_CLASS = Pattern.compile("L([\\w/$]+)[;<]");

    private final Path root;
    private final Map<String, ClassModel> classes = new TreeMap<>();

    private CompiledClasses(final Path root)
    {
        this.root = root;
        try (Stream<Path> files = Files.walk(root))
        {
            for (final Path file : (Iterable<Path>)files.filter((p) -> p.toString().endsWith(".class"))::iterator)
            {
                final ClassModel model = ClassFile.of().parse(Files.readAllBytes(file));
                final String name = model.thisClass().asInternalName();
                if (!name.endsWith("module-info") && !name.endsWith("package-info"))
                {
                    classes.put(name, model);
                }
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    /**
     * Read the compiled classes of the module a class belongs to.
     *
     * @param anchor any class of the module; its code source must be a directory (as in a Maven build).
     * @return the module's compiled classes.
     */
    public static CompiledClasses of(final Class<?> anchor)
    {
        try
        {
            final Path location = Path.of(anchor.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (!Files.isDirectory(location))
            {
                throw new IllegalStateException(anchor + " was not loaded from a classes directory: " + location);
            }
            return new CompiledClasses(location);
        }
        catch (final URISyntaxException ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    /**
     * Which packages under a prefix each package of the module refers to.
     *
     * @param prefix package name prefix, e.g. {@code dev.homa}.
     * @return for every package of this module under the prefix, the other packages under the prefix its classes
     * refer to (in code, field and method types and generic signatures).
     */
    public Map<String, Set<String>> packageDependencies(final String prefix)
    {
        final Map<String, Set<String>> graph = new TreeMap<>();
        for (final ClassModel model : classes.values())
        {
            final String from = packageOf(model.thisClass().asInternalName());
            if (!from.startsWith(prefix))
            {
                continue;
            }
            final Set<String> targets = graph.computeIfAbsent(from, (k) -> new TreeSet<>());
            for (final PoolEntry entry : model.constantPool())
            {
                if (entry instanceof final ClassEntry classEntry)
                {
                    addTarget(targets, from, prefix, classEntry.asInternalName().replaceAll("^\\[+L|;$", ""));
                }
                else if (entry instanceof final Utf8Entry utf8)
                {
                    final Matcher matcher = DESCRIPTOR_CLASS.matcher(utf8.stringValue());
                    while (matcher.find())
                    {
                        addTarget(targets, from, prefix, matcher.group(1));
                    }
                }
            }
        }
        return graph;
    }

    /**
     * The dependency cycles among the packages under a prefix.
     *
     * @param prefix package name prefix.
     * @return every group of two or more packages under the prefix that depend on each other, directly or through
     * others (Tarjan's strongly connected components); empty if the package graph has no cycle.
     */
    public List<Set<String>> packageCycles(final String prefix)
    {
        return new Tarjan(packageDependencies(prefix)).cycles;
    }

    /**
     * The public top-level types of a package.
     *
     * @param packageName a package of this module.
     * @return simple names of the package's public top-level types.
     */
    public Set<String> publicTypes(final String packageName)
    {
        final Set<String> names = new TreeSet<>();
        final String internalPackage = packageName.replace('.', '/');
        for (final Map.Entry<String, ClassModel> entry : classes.entrySet())
        {
            final String name = entry.getKey();
            if (packageOf(name).equals(packageName) && !name.contains("$") &&
                0 != (entry.getValue().flags().flagsMask() & ClassFile.ACC_PUBLIC))
            {
                names.add(name.substring(internalPackage.length() + 1));
            }
        }
        return names;
    }

    /**
     * {@return the packages the module descriptor ({@code module-info.class}) exports without qualification}
     */
    public Set<String> exportedPackages()
    {
        final Set<String> exported = new TreeSet<>();
        final ModuleReference module = ModuleFinder.of(root).findAll().stream().findFirst()
            .orElseThrow(() -> new IllegalStateException("no module-info.class in " + root));
        for (final ModuleDescriptor.Exports exports : module.descriptor().exports())
        {
            if (!exports.isQualified())
            {
                exported.add(exports.source());
            }
        }
        return exported;
    }

    private static void addTarget(final Set<String> targets, final String from, final String prefix,
        final String internalName)
    {
        final String to = packageOf(internalName);
        if (to.startsWith(prefix) && !to.equals(from))
        {
            targets.add(to);
        }
    }

    private static String packageOf(final String internalName)
    {
        final int slash = internalName.lastIndexOf('/');
        return slash < 0 ? "" : internalName.substring(0, slash).replace('/', '.');
    }

    private static final class Tarjan
    {
        private final Map<String, Set<String>> graph;
        private final Map<String, Integer> index = new HashMap<>();
        private final Map<String, Integer> lowLink = new HashMap<>();
        private final Deque<String> stack = new ArrayDeque<>();
        private final Set<String> onStack = new TreeSet<>();
        private final List<Set<String>> cycles = new ArrayList<>();

        Tarjan(final Map<String, Set<String>> graph)
        {
            this.graph = graph;
            for (final String node : graph.keySet())
            {
                if (!index.containsKey(node))
                {
                    visit(node);
                }
            }
        }

        private void visit(final String node)
        {
            index.put(node, index.size());
            lowLink.put(node, index.get(node));
            stack.push(node);
            onStack.add(node);
            for (final String next : graph.getOrDefault(node, Set.of()))
            {
                if (!index.containsKey(next))
                {
                    visit(next);
                    lowLink.put(node, Math.min(lowLink.get(node), lowLink.get(next)));
                }
                else if (onStack.contains(next))
                {
                    lowLink.put(node, Math.min(lowLink.get(node), index.get(next)));
                }
            }
            if (lowLink.get(node).equals(index.get(node)))
            {
                final Set<String> component = new TreeSet<>();
                String member;
                do
                {
                    member = stack.pop();
                    onStack.remove(member);
                    component.add(member);
                }
                while (!member.equals(node));
                if (component.size() > 1)
                {
                    cycles.add(component);
                }
            }
        }
    }
}
