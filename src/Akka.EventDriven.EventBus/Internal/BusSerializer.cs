using Akka.Actor;
using System.Runtime.Serialization;
using Akka.Serialization;

namespace Akka.EventDriven.EventBus.Internal;

/// <summary>Compact binary serializer of the bus's wire messages (the payload inside stays the registry's JSON):
/// routing a message costs a few length-prefixed strings, not a JSON document.</summary>
public sealed class BusSerializer : SerializerWithStringManifest
{
    private const string EnvelopeManifest = "e";
    private const string AppendedManifest = "a";
    private const string RegisterManifest = "r";
    private const string UnregisterManifest = "u";
    private const string DeliverManifest = "d";
    private const string AckManifest = "k";
    private const string ReplyManifest = "p";
    private const string RevokeManifest = "v";
    private const string RevokedManifest = "w";

    /// <summary>Created by Akka from configuration.</summary>
    public BusSerializer(ExtendedActorSystem system) : base(system) =>
        _maxMessageBytes = new Lazy<int>(() => system.Settings.Config.HasPath("akka.event-driven.bus.max-message-bytes")
            ? system.Settings.Config.GetInt("akka.event-driven.bus.max-message-bytes")
            : EventBusConfig.DefaultConfig().GetInt("akka.event-driven.bus.max-message-bytes"));

    /// <inheritdoc />
    public override int Identifier => 471176;

    /// <inheritdoc />
    public override string Manifest(object o) => o switch
    {
        BusEnvelope => EnvelopeManifest,
        LogAppended => AppendedManifest,
        RegisterMember => RegisterManifest,
        UnregisterMember => UnregisterManifest,
        Deliver => DeliverManifest,
        AckDeliveries => AckManifest,
        RevokeDeliveries => RevokeManifest,
        DeliveriesRevoked => RevokedManifest,
        BusReply => ReplyManifest,
        _ => throw new ArgumentException($"{nameof(BusSerializer)} cannot serialize '{o.GetType()}'."),
    };

    /// <inheritdoc />
    public override byte[] ToBinary(object obj)
    {
        if (obj is BusEnvelope envelope) return envelope.Wire ??= EnvelopeCodec.Encode(envelope);
        using var stream = new MemoryStream(obj is BusEnvelope e0 ? e0.Data.Length + 96 : 128);
        using (var w = new BinaryWriter(stream))
        {
            switch (obj)
            {
                case LogAppended a: w.Write(a.LogId); w.Write(a.Sequence); break;
                case RegisterMember r: w.Write(r.ConsumerId); w.Write(Akka.Serialization.Serialization.SerializedActorPath(r.Member)); w.Write(r.Prefetch); break;
                case UnregisterMember u: w.Write(u.ConsumerId); w.Write(Akka.Serialization.Serialization.SerializedActorPath(u.Member)); break;
                case Deliver d: w.Write(d.ConsumerId); w.Write(d.Sequence); w.Write(d.DeliveryCount); WriteEnvelope(w, d.Message); break;
                case AckDeliveries k: WriteSequences(w, k.ConsumerId, k.Sequences); break;
                case RevokeDeliveries v: WriteSequences(w, v.ConsumerId, v.Sequences); break;
                case DeliveriesRevoked x: WriteSequences(w, x.ConsumerId, x.Sequences); break;
                case BusReply p:
                    w.Write(p.Ok);
                    WriteOpt(w, p.Type);
                    w.Write(p.Data?.Length ?? -1);
                    if (p.Data is not null) w.Write(p.Data);
                    WriteOpt(w, p.ErrorType);
                    WriteOpt(w, p.Error);
                    break;
                default: throw new ArgumentException($"{nameof(BusSerializer)} cannot serialize '{obj.GetType()}'.");
            }
        }
        return stream.ToArray();
    }

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest)
    {
        // Frames come from remote peers: every length is checked against what is left of the frame (and payloads
        // against max-message-bytes) before anything is allocated, and any malformed frame is one SerializationException.
        try
        {
            using var r = new BinaryReader(new MemoryStream(bytes, writable: false));
            return manifest switch
            {
                EnvelopeManifest => EnvelopeCodec.Decode(bytes, MaxMessageBytes),
                AppendedManifest => new LogAppended(r.ReadString(), r.ReadInt64()),
                RegisterManifest => new RegisterMember(r.ReadString(), Resolve(r.ReadString()), r.ReadInt32()),
                UnregisterManifest => new UnregisterMember(r.ReadString(), Resolve(r.ReadString())),
                DeliverManifest => new Deliver(r.ReadString(), r.ReadInt64(), r.ReadInt32(), ReadEnvelope(r, MaxMessageBytes)),
                AckManifest => ReadSequences(r, (c, s) => new AckDeliveries(c, s)),
                RevokeManifest => ReadSequences(r, (c, s) => new RevokeDeliveries(c, s)),
                RevokedManifest => ReadSequences(r, (c, s) => new DeliveriesRevoked(c, s)),
                ReplyManifest => ReadReply(r, MaxMessageBytes),
                _ => throw new SerializationException($"Unknown {nameof(BusSerializer)} manifest '{manifest}'."),
            };
        }
        catch (Exception e) when (e is not SerializationException)
        {
            throw new SerializationException($"Malformed {nameof(BusSerializer)} frame ({bytes.Length} bytes, manifest '{manifest}'): {e.Message}", e);
        }
    }

    private int MaxMessageBytes => _maxMessageBytes.Value;

    private readonly Lazy<int> _maxMessageBytes;

    /// <summary>Member paths a remote peer may name as a delivery target: the bus's own member actors, nothing else
    /// (a forged RegisterMember would otherwise make the consumer send deliveries to any actor).</summary>
    private IActorRef Resolve(string path)
    {
        if (!ActorPath.TryParse(path, out var parsed) || parsed.Elements.Count != 2 || parsed.Elements[0] != "user"
            || !parsed.Elements[1].StartsWith(MemberPrefix, StringComparison.Ordinal) || parsed.Elements[1].Length == MemberPrefix.Length)
            throw new SerializationException($"'{path}' is not an event bus member.");
        return system.Provider.ResolveActorRef(path);
    }

    /// <summary>The name prefix of the bus's member actors (under <c>/user</c>).</summary>
    internal const string MemberPrefix = "bus-member-";

    private static void WriteEnvelope(BinaryWriter w, BusEnvelope e)
    {
        var bytes = e.Wire ??= EnvelopeCodec.Encode(e);
        w.Write(bytes.Length);
        w.Write(bytes);
    }

    private static int Remaining(BinaryReader r) => (int)(r.BaseStream.Length - r.BaseStream.Position);

    private static BusEnvelope ReadEnvelope(BinaryReader r, int maxBytes)
    {
        var length = r.ReadInt32();
        if (length < 0 || length > Remaining(r)) throw new SerializationException($"Envelope length {length} exceeds the frame.");
        return EnvelopeCodec.Decode(r.ReadBytes(length), maxBytes);
    }

    private static void WriteSequences(BinaryWriter w, string consumerId, long[] sequences)
    {
        w.Write(consumerId);
        w.Write(sequences.Length);
        foreach (var s in sequences) w.Write(s);
    }

    private static T ReadSequences<T>(BinaryReader r, Func<string, long[], T> create)
    {
        var consumer = r.ReadString();
        var count = r.ReadInt32();
        if (count < 0 || count > Remaining(r) / sizeof(long)) throw new SerializationException($"Sequence count {count} exceeds the frame.");
        var seqs = new long[count];
        for (var i = 0; i < seqs.Length; i++) seqs[i] = r.ReadInt64();
        return create(consumer, seqs);
    }

    private static BusReply ReadReply(BinaryReader r, int maxBytes)
    {
        var ok = r.ReadBoolean();
        var type = ReadOpt(r);
        var length = r.ReadInt32();
        if (length < -1 || length > Remaining(r) || length > maxBytes)
            throw new SerializationException($"Reply length {length} exceeds the frame or max-message-bytes ({maxBytes}).");
        var data = length < 0 ? null : r.ReadBytes(length);
        return new BusReply(ok, type, data, ReadOpt(r), ReadOpt(r));
    }

    private static void WriteOpt(BinaryWriter w, string? s)
    {
        w.Write(s is not null);
        if (s is not null) w.Write(s);
    }

    private static string? ReadOpt(BinaryReader r) => r.ReadBoolean() ? r.ReadString() : null;
}

/// <summary>The envelope's wire form: length-prefixed UTF-8 strings and the payload bytes, written in one pass into an
/// exactly sized array. Optional fields added later follow the headers as tagged sections (a tag byte, then the
/// section), written only when present: frames and journaled messages of the first format, which end after the
/// headers, decode unchanged (no section, no trace), and a reader stops at a tag it does not know.</summary>
internal static class EnvelopeCodec
{
    private static readonly System.Text.UTF8Encoding Utf8 = new(false, true);

    /// <summary>Section: the W3C trace context (traceparent, then tracestate or -1).</summary>
    internal const byte TraceSection = 1;

    public static byte[] Encode(BusEnvelope e)
    {
        var size = Str(e.Id) + Str(e.Topic) + Str(e.Type) + 4 + e.Data.Length + 8 + 4 + (e.CorrelationId is null ? 0 : Utf8.GetByteCount(e.CorrelationId)) + 4;
        if (e.Headers is not null)
            foreach (var (k, v) in e.Headers) size += Str(k) + Str(v);
        if (e.TraceParent is not null) size += 1 + Str(e.TraceParent) + (e.TraceState is null ? 4 : Str(e.TraceState));
        var buffer = new byte[size];
        var span = buffer.AsSpan();
        var at = 0;
        Put(span, ref at, e.Id);
        Put(span, ref at, e.Topic);
        Put(span, ref at, e.Type);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(span[at..], e.Data.Length);
        at += 4;
        e.Data.CopyTo(span[at..]);
        at += e.Data.Length;
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(span[at..], e.PublishedAtTicks);
        at += 8;
        if (e.CorrelationId is null)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(span[at..], -1);
            at += 4;
        }
        else Put(span, ref at, e.CorrelationId);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(span[at..], e.Headers?.Count ?? 0);
        at += 4;
        if (e.Headers is not null)
            foreach (var (k, v) in e.Headers)
            {
                Put(span, ref at, k);
                Put(span, ref at, v);
            }
        if (e.TraceParent is not null)
        {
            span[at++] = TraceSection;
            Put(span, ref at, e.TraceParent);
            if (e.TraceState is null)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(span[at..], -1);
                at += 4;
            }
            else Put(span, ref at, e.TraceState);
        }
        return buffer;
    }

    /// <summary>Reads an envelope; throws <see cref="SerializationException"/> for a frame that is truncated, holds a
    /// length beyond its end, or a payload over <paramref name="maxBytes"/>, before allocating anything of that length.</summary>
    public static BusEnvelope Decode(byte[] bytes, int maxBytes)
    {
        if (bytes.Length > (long)maxBytes + EnvelopeAllowance)
            throw new SerializationException($"Envelope of {bytes.Length} bytes is over max-message-bytes ({maxBytes}) plus {EnvelopeAllowance} bytes of envelope.");
        ReadOnlySpan<byte> span = bytes;
        var at = 0;
        var id = Get(span, ref at) ?? throw new SerializationException("Envelope without a message id.");
        var topic = GetCached(span, ref at);
        var type = GetCached(span, ref at);
        var length = Length(span, ref at);
        if (length > maxBytes) throw new SerializationException($"Payload of {length} bytes is over max-message-bytes ({maxBytes}).");
        var data = span.Slice(at, length).ToArray();
        at += length;
        Need(span, at, 8);
        var ticks = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(span[at..]);
        at += 8;
        var correlation = Get(span, ref at);
        var count = Length(span, ref at, allowNull: false, unit: 8); // each header is at least two 4-byte lengths
        Dictionary<string, string>? headers = null;
        if (count > 0)
        {
            headers = new Dictionary<string, string>(count);
            for (var i = 0; i < count; i++)
            {
                var key = Get(span, ref at) ?? throw new SerializationException("Header without a name.");
                headers[key] = Get(span, ref at) ?? throw new SerializationException($"Header '{key}' without a value.");
            }
        }
        string? traceParent = null, traceState = null;
        while (at < span.Length)
        {
            var section = span[at++];
            if (section != TraceSection) break; // written by a newer version: what this one knows is all read
            traceParent = Get(span, ref at);
            traceState = Get(span, ref at);
        }
        return new BusEnvelope(id, topic, type, data, ticks, correlation, headers, traceParent, traceState);
    }

    /// <summary>Room for the ids, names and headers around a payload of max-message-bytes (as the frame-size check assumes).</summary>
    private const int EnvelopeAllowance = 64 * 1024;

    private static void Need(ReadOnlySpan<byte> span, int at, int bytes)
    {
        if (bytes < 0 || bytes > span.Length - at)
            throw new SerializationException($"Truncated envelope: {bytes} bytes needed at offset {at} of {span.Length}.");
    }

    /// <summary>A length prefix: -1 (null) when allowed, else 0 up to what is left of the frame in <paramref name="unit"/>s.</summary>
    private static int Length(ReadOnlySpan<byte> span, ref int at, bool allowNull = false, int unit = 1)
    {
        Need(span, at, 4);
        var n = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(span[at..]);
        at += 4;
        if (n == -1 && allowNull) return n;
        if (n < 0 || n > (span.Length - at) / unit)
            throw new SerializationException($"Length {n} at offset {at - 4} exceeds the {span.Length}-byte envelope.");
        return n;
    }

    private static int Str(string s) => 4 + Utf8.GetByteCount(s);

    private sealed class Interned(byte[] utf8, string value)
    {
        public readonly byte[] Utf8 = utf8;
        public readonly string Value = value;
    }

    // Topic and type names repeat on every message: decode each once (a small lock-free cache; a collision just
    // replaces the entry).
    private static readonly Interned?[] Names = new Interned?[256];

    private static string GetCached(ReadOnlySpan<byte> span, ref int at)
    {
        var n = Length(span, ref at);
        var bytes = span.Slice(at, n);
        at += n;
        var hash = 2166136261u;
        foreach (var b in bytes) hash = (hash ^ b) * 16777619u;
        var slot = (int)(hash & 255);
        var entry = Volatile.Read(ref Names[slot]);
        if (entry is not null && bytes.SequenceEqual(entry.Utf8)) return entry.Value;
        var value = Utf8.GetString(bytes);
        Volatile.Write(ref Names[slot], new Interned(bytes.ToArray(), value));
        return value;
    }

    private static void Put(Span<byte> span, ref int at, string s)
    {
        var n = Utf8.GetBytes(s, span[(at + 4)..]);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(span[at..], n);
        at += 4 + n;
    }

    private static string? Get(ReadOnlySpan<byte> span, ref int at)
    {
        var n = Length(span, ref at, allowNull: true);
        if (n < 0) return null;
        var s = Utf8.GetString(span.Slice(at, n));
        at += n;
        return s;
    }
}
