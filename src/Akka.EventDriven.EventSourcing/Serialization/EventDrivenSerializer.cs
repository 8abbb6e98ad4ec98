using System.Buffers;
using System.Text.Json;
using Akka.Actor;
using Akka.EventDriven.Serialization;
using Akka.Serialization;

namespace Akka.EventDriven.EventSourcing.Serialization;

/// <summary>
/// JSON (System.Text.Json) serializer for stored events, snapshots and the module's cluster messages.
/// Payload types are named only through the <see cref="MessageTypeRegistry"/>: a stored event's manifest is its
/// stable type name (<c>investigation.started.v1</c>), never a CLR type name.
/// </summary>
public sealed class EventDrivenSerializer : SerializerWithStringManifest
{
    private const string CommandManifest = "ed:command";
    private const string GetStateManifest = "ed:get-state";
    private const string StateManifest = "ed:state";
    private const string FailedManifest = "ed:failed";
    private const string AcceptedManifest = "ed:accepted";
    private const string RejectedManifest = "ed:rejected";
    private const string SnapshotManifest = "ed:snapshot";

    private readonly Lazy<MessageTypeRegistry> _registry;

    /// <summary>Created by Akka from configuration.</summary>
    public EventDrivenSerializer(ExtendedActorSystem system) : base(system) =>
        _registry = new Lazy<MessageTypeRegistry>(() => MessageTypes.For(system));

    /// <inheritdoc />
    public override int Identifier => 471174;

    private MessageTypeRegistry Registry => _registry.Value;
    private JsonSerializerOptions Json => Registry.JsonOptions;

    /// <inheritdoc />
    public override string Manifest(object o) => o switch
    {
        DomainEvent e => Registry.NameOf(e.Payload.GetType()).Manifest,
        AggregateCommand => CommandManifest,
        GetAggregateState => GetStateManifest,
        AggregateStateReply => StateManifest,
        CommandFailed => FailedManifest,
        CommandAccepted => AcceptedManifest,
        CommandRejected => RejectedManifest,
        AggregateSnapshot => SnapshotManifest,
        _ => throw new ArgumentException($"{nameof(EventDrivenSerializer)} cannot serialize '{o.GetType()}'."),
    };

    /// <inheritdoc />
    public override byte[] ToBinary(object obj)
    {
        // One buffer and writer per thread, reset for each call: every stored event passes through here, and a fresh
        // 256-byte buffer grown twice for an event with its trace and command ids was most of what a write allocated.
        // Taken out of the slot while in use, so that a nested call on the same thread gets its own.
        var buffer = t_buffer ?? new ArrayBufferWriter<byte>(1024);
        var w = t_writer ?? new Utf8JsonWriter(buffer);
        t_buffer = null;
        t_writer = null;
        try
        {
            buffer.ResetWrittenCount();
            w.Reset(buffer);
            Write(w, obj);
            w.Flush();
            return buffer.WrittenSpan.ToArray();
        }
        finally
        {
            if (buffer.Capacity <= MaxKeptBuffer)
            {
                t_buffer = buffer;
                t_writer = w;
            }
        }
    }

    /// <summary>A buffer grown past this (a large snapshot) is not kept for the thread's next call.</summary>
    private const int MaxKeptBuffer = 64 * 1024;

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_writer;

    private void Write(Utf8JsonWriter w, object obj)
    {
        w.WriteStartObject();
        switch (obj)
        {
            case DomainEvent e:
                w.WritePropertyName("meta");
                JsonSerializer.Serialize(w, e.Metadata, Json);
                w.WritePropertyName("data");
                Registry.WritePayload(w, e.Payload);
                break;
            case AggregateCommand c:
                w.WriteString("id", c.AggregateId);
                w.WritePropertyName("command");
                Registry.WriteTyped(w, c.Command);
                if (c.ExpectedVersion is { } ev) w.WriteNumber("expectedVersion", ev);
                if (c.CorrelationId is not null) w.WriteString("correlationId", c.CorrelationId);
                if (c.CausationId is not null) w.WriteString("causationId", c.CausationId);
                if (c.Headers is not null)
                {
                    w.WritePropertyName("headers");
                    JsonSerializer.Serialize(w, c.Headers, Json);
                }
                if (c.TraceParent is not null) w.WriteString("traceparent", c.TraceParent);
                if (c.TraceState is not null) w.WriteString("tracestate", c.TraceState);
                if (c.CommandId is not null) w.WriteString("commandId", c.CommandId);
                break;
            case GetAggregateState g:
                w.WriteString("id", g.AggregateId);
                break;
            case AggregateStateReply s:
                w.WriteString("id", s.AggregateId);
                w.WriteNumber("version", s.Version);
                w.WritePropertyName("state");
                Registry.WriteTyped(w, s.State);
                w.WritePropertyName("recovery");
                JsonSerializer.Serialize(w, s.Recovery, Json);
                break;
            case CommandFailed f:
                w.WriteString("id", f.AggregateId);
                w.WriteString("reason", f.Reason);
                if (f.Overloaded) w.WriteBoolean("overloaded", true);
                break;
            case CommandAccepted a:
                w.WriteString("id", a.AggregateId);
                w.WriteNumber("version", a.Version);
                w.WriteStartArray("events");
                foreach (var raised in a.Events) Registry.WriteTyped(w, raised);
                w.WriteEndArray();
                break;
            case CommandRejected r:
                w.WriteString("id", r.AggregateId);
                w.WriteNumber("version", r.Version);
                w.WriteString("reason", r.Reason);
                if (r.IsConcurrencyConflict) w.WriteBoolean("conflict", true);
                break;
            case AggregateSnapshot snap:
                w.WritePropertyName("state");
                Registry.WriteTyped(w, snap.State);
                w.WriteStartArray("olderSnapshots");
                foreach (var seq in snap.OlderSnapshots) w.WriteNumberValue(seq);
                w.WriteEndArray();
                if (snap.Commands is { Count: > 0 } commands)
                {
                    w.WriteStartArray("commands"); // [id, version, events, at] each
                    foreach (var c in commands)
                    {
                        w.WriteStartArray();
                        w.WriteStringValue(c.Id);
                        w.WriteNumberValue(c.Version);
                        w.WriteNumberValue(c.Events);
                        w.WriteNumberValue(c.At);
                        w.WriteEndArray();
                    }
                    w.WriteEndArray();
                }
                break;
            default:
                throw new ArgumentException($"{nameof(EventDrivenSerializer)} cannot serialize '{obj.GetType()}'.");
        }
        w.WriteEndObject();
    }

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!manifest.StartsWith("ed:", StringComparison.Ordinal)) return ReadEvent(bytes, manifest);
        using var doc = JsonDocument.Parse(bytes);
        var root = doc.RootElement;
        switch (manifest)
        {
            case CommandManifest:
                return new AggregateCommand(
                    Str(root, "id"),
                    Registry.ReadTyped(root.GetProperty("command")),
                    root.TryGetProperty("expectedVersion", out var ev) ? ev.GetInt64() : null,
                    OptStr(root, "correlationId"),
                    OptStr(root, "causationId"),
                    root.TryGetProperty("headers", out var h) ? h.Deserialize<Dictionary<string, string>>(Json) : null)
                {
                    TraceParent = OptStr(root, "traceparent"),
                    TraceState = OptStr(root, "tracestate"),
                    CommandId = OptStr(root, "commandId"),
                };
            case GetStateManifest:
                return new GetAggregateState(Str(root, "id"));
            case StateManifest:
                return new AggregateStateReply(Str(root, "id"), root.GetProperty("version").GetInt64(),
                    Registry.ReadTyped(root.GetProperty("state")),
                    root.GetProperty("recovery").Deserialize<RecoveryStats>(Json)!);
            case FailedManifest:
                return new CommandFailed(Str(root, "id"), Str(root, "reason"))
                {
                    Overloaded = root.TryGetProperty("overloaded", out var overloaded) && overloaded.GetBoolean(),
                };
            case AcceptedManifest:
                return new CommandAccepted(Str(root, "id"), root.GetProperty("version").GetInt64(),
                    root.GetProperty("events").EnumerateArray().Select(Registry.ReadTyped).ToArray());
            case RejectedManifest:
                return new CommandRejected(Str(root, "id"), root.GetProperty("version").GetInt64(), Str(root, "reason"))
                {
                    IsConcurrencyConflict = root.TryGetProperty("conflict", out var conflict) && conflict.GetBoolean(),
                };
            case SnapshotManifest:
                return new AggregateSnapshot(Registry.ReadTyped(root.GetProperty("state")),
                    root.GetProperty("olderSnapshots").EnumerateArray().Select(e => e.GetInt64()).ToArray())
                {
                    Commands = root.TryGetProperty("commands", out var commands)
                        ? commands.EnumerateArray().Select(c => new RememberedCommand(c[0].GetString()!, c[1].GetInt64(), c[2].GetInt32(), c[3].GetInt64())).ToArray()
                        : null,
                };
            default:
                throw new System.Runtime.Serialization.SerializationException($"Unknown {nameof(EventDrivenSerializer)} manifest '{manifest}'.");
        }
    }

    /// <summary>A stored event ({"meta": …, "data": …}, named by its stable type name): the hot path of recovery and
    /// projections, so the two values are sliced out with a reader and deserialized straight from the bytes.</summary>
    private DomainEvent ReadEvent(byte[] bytes, string manifest)
    {
        var reader = new Utf8JsonReader(bytes);
        ReadOnlySpan<byte> meta = default, data = default;
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) throw new JsonException($"'{manifest}': expected a JSON object.");
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isMeta = reader.ValueTextEquals("meta"u8);
            var isData = !isMeta && reader.ValueTextEquals("data"u8);
            reader.Read();
            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            var value = bytes.AsSpan(start, (int)reader.BytesConsumed - start);
            if (isMeta) meta = value;
            else if (isData) data = value;
        }
        if (meta.IsEmpty || data.IsEmpty) throw new JsonException($"'{manifest}': stored event without 'meta' or 'data'.");
        var metadata = JsonSerializer.Deserialize<EventMetadata>(meta, Json)!;
        return new DomainEvent(Registry.Deserialize(data, manifest), metadata, manifest);
    }

    private static string Str(JsonElement e, string name) => e.GetProperty(name).GetString()!;
    private static string? OptStr(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.GetString() : null;
}
