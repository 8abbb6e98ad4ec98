using System.Reflection;
using System.Runtime.Loader;
using Akka.EventDriven.Http;

namespace Akka.EventDriven.Service;

/// <summary>Loads the assemblies of <c>EVENTDRIVEN_MODULES</c> and instantiates their <see cref="IEventDrivenModule"/>s.</summary>
public static class ModuleLoader
{
    /// <summary>
    /// Loads each entry of <paramref name="modules"/>: a path to a .dll (relative paths are tried against the current
    /// directory, then the service's directory) or an assembly name (looked up beside the service). Module assemblies
    /// share the service's copy of Akka.EventDriven; their other dependencies are resolved from their own folder
    /// (their .deps.json). Every public, non-abstract <see cref="IEventDrivenModule"/> with a parameterless
    /// constructor is instantiated.
    /// </summary>
    /// <exception cref="ServiceConfigurationException">An entry cannot be loaded or holds no module.</exception>
    public static IReadOnlyList<IEventDrivenModule> Load(IReadOnlyList<string> modules)
    {
        var result = new List<IEventDrivenModule>();
        foreach (var entry in modules)
        {
            var assembly = LoadAssembly(entry);
            Type[] types;
            try { types = assembly.GetExportedTypes(); }
            catch (Exception e) when (e is ReflectionTypeLoadException or FileNotFoundException or FileLoadException)
            {
                throw new ServiceConfigurationException("EVENTDRIVEN_MODULES",
                    $"the types of '{entry}' cannot be loaded (a dependency is missing?): {e.Message}", e);
            }
            var found = types.Where(t => typeof(IEventDrivenModule).IsAssignableFrom(t) && t is { IsClass: true, IsAbstract: false }).ToList();
            if (found.Count == 0)
                throw new ServiceConfigurationException("EVENTDRIVEN_MODULES",
                    $"'{entry}' ({assembly.Location}) has no public class implementing {nameof(IEventDrivenModule)}.");
            foreach (var type in found)
            {
                if (type.GetConstructor(Type.EmptyTypes) is null)
                    throw new ServiceConfigurationException("EVENTDRIVEN_MODULES", $"module {type.FullName} in '{entry}' has no public parameterless constructor.");
                try { result.Add((IEventDrivenModule)Activator.CreateInstance(type)!); }
                catch (TargetInvocationException e)
                {
                    throw new ServiceConfigurationException("EVENTDRIVEN_MODULES",
                        $"module {type.FullName} in '{entry}' failed to start: {e.InnerException?.Message}", e.InnerException);
                }
            }
        }
        var duplicate = result.GroupBy(m => m.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ServiceConfigurationException("EVENTDRIVEN_MODULES", $"two modules are named '{duplicate.Key}'.");
        return result;
    }

    private static Assembly LoadAssembly(string entry)
    {
        var isPath = entry.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) || entry.Contains('/') || entry.Contains('\\');
        var path = isPath ? entry : entry + ".dll";
        var candidates = Path.IsPathRooted(path)
            ? [path]
            : new[] { Path.GetFullPath(path), Path.Combine(AppContext.BaseDirectory, path) };
        var file = candidates.FirstOrDefault(File.Exists);
        if (file is null)
        {
            if (!isPath)
            {
                // An assembly the service itself carries (in its deps.json).
                try { return Assembly.Load(new AssemblyName(entry)); }
                catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException) { }
            }
            throw new ServiceConfigurationException("EVENTDRIVEN_MODULES",
                $"module '{entry}' was found neither at {string.Join(" nor at ", candidates)}.");
        }
        try
        {
            var resolver = Resolver(file);
            if (resolver is not null) Hook(resolver);
            return AssemblyLoadContext.Default.LoadFromAssemblyPath(file);
        }
        catch (Exception e) when (e is BadImageFormatException or FileLoadException or ArgumentException)
        {
            throw new ServiceConfigurationException("EVENTDRIVEN_MODULES", $"'{file}' is not a .NET assembly: {e.Message}", e);
        }
    }

    private static AssemblyDependencyResolver? Resolver(string file)
    {
        // Without a usable .deps.json the module's dependencies must be ones the service carries.
        try { return new AssemblyDependencyResolver(file); }
        catch (InvalidOperationException) { return null; }
    }

    private static void Hook(AssemblyDependencyResolver resolver)
    {
        // Called only for what the service's own dependencies do not provide, so shared assemblies keep one identity.
        AssemblyLoadContext.Default.Resolving += (context, name) =>
            resolver.ResolveAssemblyToPath(name) is { } dependency ? context.LoadFromAssemblyPath(dependency) : null;
        AssemblyLoadContext.Default.ResolvingUnmanagedDll += (_, name) =>
            resolver.ResolveUnmanagedDllToPath(name) is { } native ? System.Runtime.InteropServices.NativeLibrary.Load(native) : IntPtr.Zero;
    }
}
