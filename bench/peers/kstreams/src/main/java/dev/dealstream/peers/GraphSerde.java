package dev.dealstream.peers;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/** The state store's value: a customer's graph, as plain binary (DataOutput). */
final class GraphSerde implements Serde<Workload.Graph> {
    private static final byte VERSION = 1;

    static byte[] encode(Workload.Graph g) {
        try {
            ByteArrayOutputStream bo = new ByteArrayOutputStream(256);
            DataOutputStream o = new DataOutputStream(bo);
            o.writeByte(VERSION);
            o.writeLong(g.now);
            o.writeBoolean(g.hasNow);
            o.writeLong(g.nEvents);
            o.writeByte(g.tier);
            o.writeBoolean(g.rated);
            o.writeDouble(g.score);
            o.writeDouble(g.fit);
            o.writeDouble(g.intent);
            o.writeShort(g.nodes.size());
            for (Workload.Node n : g.nodes) {
                o.writeByte(n.type);
                o.writeUTF(n.id);
                o.writeBoolean(n.relation != null);
                if (n.relation != null) o.writeUTF(n.relation);
                o.writeDouble(n.edgeWeight);
                o.writeLong(n.edgeTime);
                o.writeShort(n.signals.size());
                for (Workload.Signal s : n.signals) {
                    o.writeUTF(s.type);
                    o.writeDouble(s.value);
                    o.writeLong(s.ref);
                    o.writeLong(s.count);
                }
            }
            o.flush();
            return bo.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Contributions and snapshots are not stored: the next maintain() makes them. */
    static Workload.Graph decode(byte[] b) {
        try {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(b));
            if (in.readByte() != VERSION) throw new IOException("unknown graph version");
            Workload.Graph g = new Workload.Graph();
            g.now = in.readLong();
            g.hasNow = in.readBoolean();
            g.nEvents = in.readLong();
            g.tier = in.readByte();
            g.rated = in.readBoolean();
            g.score = in.readDouble();
            g.fit = in.readDouble();
            g.intent = in.readDouble();
            int nn = in.readShort();
            for (int i = 0; i < nn; i++) {
                Workload.Node n = new Workload.Node();
                n.type = in.readByte();
                n.id = in.readUTF();
                n.relation = in.readBoolean() ? in.readUTF() : null;
                n.edgeWeight = in.readDouble();
                n.edgeTime = in.readLong();
                int ns = in.readShort();
                for (int j = 0; j < ns; j++) {
                    Workload.Signal s = new Workload.Signal();
                    s.type = in.readUTF();
                    s.value = in.readDouble();
                    s.ref = in.readLong();
                    s.count = in.readLong();
                    s.spec = Workload.specIndex(s.type);
                    n.signals.add(s);
                }
                g.nodes.add(n);
            }
            return g;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public Serializer<Workload.Graph> serializer() {
        return (topic, g) -> g == null ? null : encode(g);
    }

    @Override
    public Deserializer<Workload.Graph> deserializer() {
        return (topic, b) -> b == null ? null : decode(b);
    }
}
