using System.Reflection;

namespace Akka.EventDriven;

/// <summary>
/// Reads the <c>reference.conf</c> a module embeds: every Akka.EventDriven module (and a module of your own built the
/// same way) compiles its commented defaults in as the resource <c>{AssemblyName}.reference.conf</c>, and its
/// <c>XConfig.DefaultConfig()</c> parses the text this returns. One loader, so that every module finds, names and
/// reports its defaults the same way.
/// </summary>
public static class EmbeddedReferenceConfig
{
    /// <summary>The name of the resource <paramref name="assembly"/> embeds its defaults under.</summary>
    public static string ResourceName(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        return assembly.GetName().Name + ".reference.conf";
    }

    /// <summary>The HOCON text of the <c>reference.conf</c> embedded in the assembly of <paramref name="moduleType"/>.</summary>
    /// <exception cref="InvalidOperationException">The assembly embeds no such resource (its project file lacks
    /// <c>&lt;EmbeddedResource Include="reference.conf" LogicalName="{AssemblyName}.reference.conf" /&gt;</c>).</exception>
    public static string Read(Type moduleType)
    {
        ArgumentNullException.ThrowIfNull(moduleType);
        var assembly = moduleType.Assembly;
        var name = ResourceName(assembly);
        using var stream = assembly.GetManifestResourceStream(name)
                           ?? throw new InvalidOperationException(
                               $"{assembly.GetName().Name} embeds no '{name}': its project must include <EmbeddedResource Include=\"reference.conf\" LogicalName=\"{name}\" />.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
