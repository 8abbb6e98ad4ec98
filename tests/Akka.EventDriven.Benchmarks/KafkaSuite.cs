using Akka.Actor;
using Akka.EventDriven.Kafka;
using Akka.EventDriven.Kafka.TestKit;
using Akka.Streams;
using Akka.Streams.Dsl;
using Confluent.Kafka;

namespace Akka.EventDriven.Benchmarks;

/// <summary>
/// <c>kafka</c>: produce, and consume + commit, through the Kafka stages against raw Confluent.Kafka loops with the
/// same settings, on librdkafka's mock cluster (in process, 3 brokers). Messages of 200 bytes. Produce: linger.ms 5,
/// acks all, delivery handler per message. Consume: a committable source + committer (batch 1000) against a loop of
/// Consume + Commit() every 1000, fetch.wait.max.ms 10 for both, timed from the first message (the group join, ~3 s on
/// the mock, is excluded). The mock keeps ~5 MiB per partition, so each round produces 200k messages to a fresh
/// 16-partition topic per side, and each consumer reads 120k of its side's topic. Main ratio = the lower of the two.
/// </summary>
public static class KafkaSuite
{
    private const int PayloadBytes = 200;

    public static async Task<SuiteResult> RunAsync(RunContext ctx)
    {
        var rounds = ctx.Quick ? 3 : 6;
        const int messages = 200_000;
        const int consumed = 120_000;
        using var cluster = new MockKafkaCluster(3);
        using var system = ActorSystem.Create("kafka-bench", "akka.loglevel = WARNING");
        var materializer = system.Materializer();
        var payload = new byte[PayloadBytes];
        Random.Shared.NextBytes(payload);
        var producerSettings = KafkaProducerSettings<Null, byte[]>.Create(system).WithBootstrapServers(cluster.BootstrapServers);
        if (int.TryParse(Environment.GetEnvironmentVariable("BENCH_KAFKA_MAX_IN_FLIGHT"), out var maxInFlight))
            producerSettings = producerSettings with { MaxInFlight = maxInFlight };
        var consumerSettings = KafkaConsumerSettings<Null, byte[]>.Create(system).WithBootstrapServers(cluster.BootstrapServers);

        var produce = new Comparison("produce", "msgs/s", 0.9,
            "raw Confluent.Kafka Produce loop with a delivery handler per message, Flush at the end",
            "KafkaProducer.Sink fed by Source.Repeat(message).Take(n)");
        var consume = new Comparison("consume-commit", "msgs/s", 0.9,
            "raw Confluent.Kafka Consume loop + Commit() every 1000, timed from the first message",
            "KafkaConsumer.CommittableSource + Committer.Sink (MaxBatch 1000), timed from the first message");
        for (var round = 0; round <= rounds; round++)     // round 0 is the warm-up
        {
            // Raw and stage produce to topics of their own (the mock keeps ~5 MiB per partition: one run per topic fits).
            var rawTopic = $"bench-{ctx.RunId}-{round}-raw";
            var stageTopic = $"bench-{ctx.RunId}-{round}-stage";
            cluster.CreateTopic(rawTopic, 16);
            cluster.CreateTopic(stageTopic, 16);
            Measurement pr, ps;
            var stageFirst = round % 2 == 0;     // measured rounds 1, 3, … raw first
            if (!stageFirst)     // alternate which goes first
            {
                pr = ProduceRaw(producerSettings, rawTopic, payload, messages);
                ps = await ProduceStageAsync(producerSettings, materializer, stageTopic, payload, messages);
            }
            else
            {
                ps = await ProduceStageAsync(producerSettings, materializer, stageTopic, payload, messages);
                pr = ProduceRaw(producerSettings, rawTopic, payload, messages);
            }
            // Each consumer reads the first `consumed` messages of its own side's topic, in the same order as produce.
            // The mock drops the oldest messages of a partition beyond ~5 MiB: read at most what is still there.
            Measurement cr, cs;
            if (!stageFirst)
            {
                cr = ConsumeRaw(consumerSettings.WithGroupId($"raw-{rawTopic}"), rawTopic, Math.Min(consumed, Available(consumerSettings, rawTopic)));
                cs = await ConsumeStageAsync(consumerSettings.WithGroupId($"stage-{stageTopic}"), materializer, stageTopic,
                    Math.Min(consumed, Available(consumerSettings, stageTopic)));
            }
            else
            {
                cs = await ConsumeStageAsync(consumerSettings.WithGroupId($"stage-{stageTopic}"), materializer, stageTopic,
                    Math.Min(consumed, Available(consumerSettings, stageTopic)));
                cr = ConsumeRaw(consumerSettings.WithGroupId($"raw-{rawTopic}"), rawTopic, Math.Min(consumed, Available(consumerSettings, rawTopic)));
            }
            Log($"round {round}{(round == 0 ? " (warm-up)" : "")}: produce raw {pr.PerSecond:N0}/s stage {ps.PerSecond:N0}/s " +
                $"({ps.PerSecond / pr.PerSecond:0.000}); consume+commit raw {cr.PerSecond:N0}/s stage {cs.PerSecond:N0}/s ({cs.PerSecond / cr.PerSecond:0.000})");
            if (round == 0) continue;
            produce.Add(pr, ps, stageFirst);
            consume.Add(cr, cs, stageFirst);
        }

        // The suite's ratio is the lower of the two.
        var main = produce.Ratio <= consume.Ratio ? produce : consume;
        return new SuiteResult([produce, consume], new Dictionary<string, object?>
        {
            ["main_ratio"] = main == produce ? "produce (the lower)" : "consume+commit (the lower)",
            ["produced_per_round_each"] = messages,
            ["consumed_per_round_each"] = consumed,
            ["rounds"] = rounds,
            ["payload_bytes"] = PayloadBytes,
            ["settings"] = "mock cluster 3 brokers, 16 partitions; producer linger.ms=5 acks=all; consumer fetch.wait.max.ms=10, commit every 1000",
        }, main.Name);
    }

    private static int Available(KafkaConsumerSettings<Null, byte[]> settings, string topic)
    {
        using var consumer = new ConsumerBuilder<Null, byte[]>(new ConsumerConfig(settings.Properties.ToDictionary()) { GroupId = "watermarks" }).Build();
        long total = 0;
        for (var p = 0; p < 16; p++)
        {
            var w = consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10));
            total += w.High.Value - w.Low.Value;
        }
        return (int)Math.Min(int.MaxValue, total * 9 / 10);    // a margin: the mock may drop more while we read
    }

    private static Measurement ProduceRaw(KafkaProducerSettings<Null, byte[]> settings, string topic, byte[] payload, int count)
    {
        using var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig(settings.Properties.ToDictionary())).Build();
        var message = new Message<Null, byte[]> { Value = payload };
        long delivered = 0, failed = 0;
        Action<DeliveryReport<Null, byte[]>> handler = r =>
        {
            if (r.Error.IsError) Interlocked.Increment(ref failed);
            else Interlocked.Increment(ref delivered);
        };
        var clock = MeasureClock.Start();
        for (var i = 0; i < count; i++)
        {
            while (true)
            {
                try
                {
                    producer.Produce(topic, message, handler);
                    break;
                }
                catch (ProduceException<Null, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(1));
                }
            }
        }
        producer.Flush(TimeSpan.FromSeconds(60));
        var run = clock.Stop(count);
        if (Interlocked.Read(ref delivered) != count) throw new InvalidOperationException($"raw produce: {delivered} delivered, {failed} failed of {count}");
        return run;
    }

    private static async Task<Measurement> ProduceStageAsync(KafkaProducerSettings<Null, byte[]> settings, IMaterializer materializer, string topic,
        byte[] payload, int count)
    {
        var message = new Message<Null, byte[]> { Value = payload };
        var clock = MeasureClock.Start();
        await Source.Repeat(message).Take(count).RunWith(KafkaProducer.Sink(settings, topic), materializer);
        return clock.Stop(count);
    }

    private static Measurement ConsumeRaw(KafkaConsumerSettings<Null, byte[]> settings, string topic, int count)
    {
        var config = new ConsumerConfig(settings.Properties.ToDictionary()) { EnableAutoCommit = false };
        using var consumer = new ConsumerBuilder<Null, byte[]>(config).Build();
        consumer.Subscribe(topic);
        MeasureClock? clock = null;
        var received = 0;
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (received < count)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"raw consume: {received} of {count} after 2 minutes");
            var r = consumer.Consume(TimeSpan.FromMilliseconds(100));
            if (r is null) continue;
            clock ??= MeasureClock.Start();
            if (++received % 1000 == 0) consumer.Commit();
        }
        if (received % 1000 != 0) consumer.Commit();
        var run = clock!.Stop(count);
        consumer.Close();
        return run;
    }

    private static async Task<Measurement> ConsumeStageAsync(KafkaConsumerSettings<Null, byte[]> settings, IMaterializer materializer, string topic, int count)
    {
        MeasureClock? clock = null;
        var (control, done) = KafkaConsumer.CommittableSource(settings, topic)
            .Take(count)
            .Select(m =>
            {
                clock ??= MeasureClock.Start();
                return (ICommittable)m;
            })
            .ToMaterialized(Committer.Sink(new CommitterSettings(MaxBatch: 1000)), Keep.Both)
            .Run(materializer);
        await done.WaitAsync(TimeSpan.FromMinutes(2));
        var run = clock!.Stop(count);
        await control.Closed;
        return run;
    }

    private static void Log(string message) => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");
}
