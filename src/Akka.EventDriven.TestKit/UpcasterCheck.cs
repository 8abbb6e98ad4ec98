using System.Text;
using System.Text.Json;
using Akka.EventDriven.Serialization;

namespace Akka.EventDriven.TestKit;

/// <summary>
/// Checks what an event stored by an older version of the code upgrades to: the registry reads the stored JSON under its
/// stored type name (running the upcaster chain), and the result is compared with what the current code expects.
/// </summary>
/// <example><code>
/// UpcasterCheck.Read(registry, "ledger.deposited.v1", """{"cents":1250}""")
///     .UpgradesTo(new Deposited(12.50m));
/// </code></example>
public sealed class UpcasterCheck
{
    private readonly MessageTypeRegistry _registry;
    private readonly string _manifest;
    private readonly string _json;
    private readonly object? _result;
    private readonly Exception? _error;

    private UpcasterCheck(MessageTypeRegistry registry, string manifest, string json)
    {
        _registry = registry;
        _manifest = manifest;
        _json = json;
        try { _result = registry.Deserialize(Encoding.UTF8.GetBytes(json), manifest); }
        catch (Exception e) { _error = e; }
    }

    /// <summary>Reads <paramref name="storedJson"/> (the payload as the journal holds it) stored as
    /// <paramref name="storedTypeName"/> (<c>name.vN</c>).</summary>
    public static UpcasterCheck Read(MessageTypeRegistry registry, string storedTypeName, string storedJson)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentException.ThrowIfNullOrWhiteSpace(storedTypeName);
        ArgumentNullException.ThrowIfNull(storedJson);
        return new UpcasterCheck(registry, storedTypeName, storedJson);
    }

    /// <summary>Reads a file holding <c>{"type": "name.vN", "data": {…}}</c> (an event as an older version stored it;
    /// the shape the HTTP API and <see cref="MessageTypeRegistry.WriteTyped"/> use).</summary>
    public static UpcasterCheck ReadFile(MessageTypeRegistry registry, string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String
            || !root.TryGetProperty("data", out var data))
            throw new ArgumentException($"'{path}' does not hold {{\"type\": \"name.vN\", \"data\": …}}.", nameof(path));
        return Read(registry, type.GetString()!, data.GetRawText());
    }

    /// <summary>The upgraded event (throws with the reason when the stored JSON cannot be read).</summary>
    public object Result => _result ?? throw Unreadable("to be readable");

    /// <summary>The stored event upgrades to <paramref name="expected"/> (same type, same JSON).</summary>
    public UpcasterCheck UpgradesTo(object expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        var result = _result ?? throw Unreadable($"to upgrade to {MessageText.Describe(_registry, expected)}");
        var (want, got) = (MessageText.NameOf(_registry, expected), MessageText.NameOf(_registry, result));
        var diff = want != got
            ? $"type: expected {want}, actual {got}"
            : MessageText.FirstDifference(MessageText.ToNode(_registry, expected), MessageText.ToNode(_registry, result));
        if (diff is not null)
            throw new EventDrivenAssertionException(
                $"Stored {_manifest} {_json}\nupgrades to {MessageText.Describe(_registry, result)}\nexpected    {MessageText.Describe(_registry, expected)}\n({diff})");
        return this;
    }

    /// <summary>The stored event upgrades to a <typeparamref name="T"/> that passes <paramref name="assertion"/>.</summary>
    public T UpgradesTo<T>(Action<T>? assertion = null)
    {
        var result = _result ?? throw Unreadable($"to upgrade to {typeof(T).Name}");
        if (result is not T typed)
            throw new EventDrivenAssertionException(
                $"Stored {_manifest} {_json}\nupgrades to {MessageText.Describe(_registry, result)}, not to a {typeof(T).Name}");
        try { assertion?.Invoke(typed); }
        catch (Exception e) when (e is not EventDrivenAssertionException)
        {
            throw new EventDrivenAssertionException(
                $"Stored {_manifest} {_json}\nupgrades to {MessageText.Describe(_registry, result)}, which is not as expected: {e.Message}", e);
        }
        return typed;
    }

    /// <summary>The stored event cannot be read (no upcaster chain, an unknown name); returns the error.</summary>
    public Exception IsUnreadable()
    {
        if (_error is not null) return _error;
        throw new EventDrivenAssertionException(
            $"Stored {_manifest} {_json}\nwas expected to be unreadable, but it upgrades to {MessageText.Describe(_registry, _result!)}");
    }

    private EventDrivenAssertionException Unreadable(string expectation) =>
        new($"Stored {_manifest} {_json}\nwas expected {expectation}, but it cannot be read: {_error!.GetType().Name}: {_error.Message}", _error);
}
