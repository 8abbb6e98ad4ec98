using Akka.Actor;
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

    /// <summary>Created by Akka from configuration.</summary>
    public BusSerializer(ExtendedActorSystem system) : base(system) { }

    /// <inheritdoc />
    public override int Identifier => 471175;

    /// <inheritdoc />
    public override string Manifest(object o) => o switch
    {
        BusEnvelope => EnvelopeManifest,
        LogAppended => AppendedManifest,
        RegisterMember => RegisterManifest,
        UnregisterMember => UnregisterManifest,
        Deliver => DeliverManifest,
        AckDeliveries => AckManifest,
        BusReply => ReplyManifest,
        _ => throw new ArgumentException($"{nameof(BusSerializer)} cannot serialize '{o.GetType()}'."),
    };

    /// <inheritdoc />
    public override byte[] ToBinary(object obj)
    {
        using var stream = new MemoryStream(obj is BusEnvelope e0 ? e0.Data.Length + 96 : 128);
        using (var w = new BinaryWriter(stream))
        {
            switch (obj)
            {
                case BusEnvelope e: WriteEnvelope(w, e); break;
                case LogAppended a: w.Write(a.LogId); w.Write(a.Sequence); break;
                case RegisterMember r: w.Write(r.ConsumerId); w.Write(Akka.Serialization.Serialization.SerializedActorPath(r.Member)); w.Write(r.Prefetch); break;
                case UnregisterMember u: w.Write(u.ConsumerId); w.Write(Akka.Serialization.Serialization.SerializedActorPath(u.Member)); break;
                case Deliver d: w.Write(d.ConsumerId); w.Write(d.Sequence); w.Write(d.DeliveryCount); WriteEnvelope(w, d.Message); break;
                case AckDeliveries k:
                    w.Write(k.ConsumerId);
                    w.Write(k.Sequences.Length);
                    foreach (var s in k.Sequences) w.Write(s);
                    break;
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
        using var r = new BinaryReader(new MemoryStream(bytes, writable: false));
        return manifest switch
        {
            EnvelopeManifest => ReadEnvelope(r),
            AppendedManifest => new LogAppended(r.ReadString(), r.ReadInt64()),
            RegisterManifest => new RegisterMember(r.ReadString(), Resolve(r.ReadString()), r.ReadInt32()),
            UnregisterManifest => new UnregisterMember(r.ReadString(), Resolve(r.ReadString())),
            DeliverManifest => new Deliver(r.ReadString(), r.ReadInt64(), r.ReadInt32(), ReadEnvelope(r)),
            AckManifest => ReadAck(r),
            ReplyManifest => ReadReply(r),
            _ => throw new System.Runtime.Serialization.SerializationException($"Unknown {nameof(BusSerializer)} manifest '{manifest}'."),
        };
    }

    private IActorRef Resolve(string path) => system.Provider.ResolveActorRef(path);

    private static void WriteEnvelope(BinaryWriter w, BusEnvelope e)
    {
        w.Write(e.Id);
        w.Write(e.Topic);
        w.Write(e.Type);
        w.Write(e.Data.Length);
        w.Write(e.Data);
        w.Write(e.PublishedAtTicks);
        WriteOpt(w, e.CorrelationId);
        w.Write(e.Headers?.Count ?? 0);
        if (e.Headers is not null)
            foreach (var (k, v) in e.Headers) { w.Write(k); w.Write(v); }
    }

    private static BusEnvelope ReadEnvelope(BinaryReader r)
    {
        var id = r.ReadString();
        var topic = r.ReadString();
        var type = r.ReadString();
        var data = r.ReadBytes(r.ReadInt32());
        var ticks = r.ReadInt64();
        var correlation = ReadOpt(r);
        var count = r.ReadInt32();
        Dictionary<string, string>? headers = null;
        if (count > 0)
        {
            headers = new Dictionary<string, string>(count);
            for (var i = 0; i < count; i++) headers[r.ReadString()] = r.ReadString();
        }
        return new BusEnvelope(id, topic, type, data, ticks, correlation, headers);
    }

    private static AckDeliveries ReadAck(BinaryReader r)
    {
        var consumer = r.ReadString();
        var seqs = new long[r.ReadInt32()];
        for (var i = 0; i < seqs.Length; i++) seqs[i] = r.ReadInt64();
        return new AckDeliveries(consumer, seqs);
    }

    private static BusReply ReadReply(BinaryReader r)
    {
        var ok = r.ReadBoolean();
        var type = ReadOpt(r);
        var length = r.ReadInt32();
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
